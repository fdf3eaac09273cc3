"""`python -m python_functions.local_ai`: the offline provider's entry point as DESIGN.md
documents it; the server itself is `python_functions.local.provider`."""

from python_functions.local.provider import main

if __name__ == "__main__":
    main()
