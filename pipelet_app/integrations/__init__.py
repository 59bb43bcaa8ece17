"""What the vendor integrations share: the error taxonomy and the HTTP adapter base of inverter brands
(``pipelet_app.inverters``) and charging networks (``pipelet_app.networks``)."""
