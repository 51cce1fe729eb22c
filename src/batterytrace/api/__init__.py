"""The HTTP server (``batterytrace serve``): FastAPI routers over the services, one per
resource; :func:`batterytrace.api.app.create_app` assembles them."""
