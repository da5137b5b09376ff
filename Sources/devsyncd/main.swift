// devsyncd is composed in issue 6; until then it says so instead of pretending to run.
print("devsyncd: the daemon is not built yet (see issue 6); use devsyncctl profiles for now")
