"""Model families behind one interface: XGBoost on features, CNNs on images."""
