"""tdm-warehouse: ingestion, validation, warehouse and analyses for the paediatric IFX TDM study."""

__version__ = "0.1.0"
