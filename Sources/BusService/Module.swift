/// Placeholder: the broker API arrives with issue 4.
enum BusServiceModule {}
