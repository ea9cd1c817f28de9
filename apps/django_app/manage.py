#!/usr/bin/python3
"""Django's command-line utility for the chain's Django sample.
Use Debian's python3 (it has python3-django): /usr/bin/python3 manage.py ..."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chainsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
