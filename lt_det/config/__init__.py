from .defaults import add_lt_config, get_lt_cfg

__all__ = ["add_lt_config", "get_lt_cfg"]
