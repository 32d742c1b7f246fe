"""No models of its own: this module exists so that `migrate` sends the core app its `post_migrate`
signal (Django sends it only to apps with a models module), on which apps.py creates the cache table."""
