"""Application services of ticketdomain (the public API is re-exported by ``ticketdomain``)."""
