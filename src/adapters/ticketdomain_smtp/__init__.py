"""ticketdomain_smtp adapter."""
