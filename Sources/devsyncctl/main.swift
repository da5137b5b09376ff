print("devsyncctl: no verbs yet")
