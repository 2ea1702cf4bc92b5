"""ticketdomain_fpdf adapter."""
