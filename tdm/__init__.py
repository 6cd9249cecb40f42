"""tdm-warehouse: ingestion, validation, warehouse and analyses for the paediatric IFX TDM study."""

from base.version import __version__

__all__ = ["__version__"]