/// Placeholder: the libdbus binding arrives with issue 4.
enum DBusModule {}
