"""ticketdomain"""
