"""``python -m ticketdomain_cli``: the same as the ``ticketdomain`` console script."""

from ticketdomain_cli._main import main

if __name__ == "__main__":
    main()
