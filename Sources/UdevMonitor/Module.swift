/// Placeholder: the libudev monitor arrives with issue 3.
enum UdevMonitorModule {}
