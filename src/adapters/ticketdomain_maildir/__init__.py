"""ticketdomain_maildir adapter."""
