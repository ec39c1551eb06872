"""Official daily exchange rates: the National Bank of Ukraine's source and the daily feed."""
