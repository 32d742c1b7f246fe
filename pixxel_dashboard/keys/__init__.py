from .errors import KeyProblem, KeyUnreadable, NoActiveKey

__all__ = ["KeyProblem", "KeyUnreadable", "NoActiveKey"]
