/// Placeholder: the BlueZ watcher arrives with issue 5.
enum BluetoothModule {}
