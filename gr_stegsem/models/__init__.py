"""Model zoo, one module per paper: DeepJSCC (Bourtsoulatze et al. 2019) and the INN
steganography module (Tang et al. 2024)."""
from .deepjscc import DeepJSCC, DeepJSCCConfig
from .inn import INNConfig, StegoINN

__all__ = ["DeepJSCC", "DeepJSCCConfig", "INNConfig", "StegoINN"]
