"""gunicorn settings for the yeban API:
``gunicorn -c gunicorn.conf.py 'qa_api.wsgi:create_wsgi_app()'``.

Two sync workers with threads, bound where settings say, no preloading (each
worker loads its own models and connections after the fork), JSON logs.
"""

from qa_api.config import api_config
from qa_api.logging_setup import gunicorn_logconfig
from schema.settings import load_settings

_config = api_config(load_settings())

bind = f"{_config.host}:{_config.port}"
workers = _config.workers
worker_class = "gthread"
threads = 4
preload_app = False
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
logconfig_dict = gunicorn_logconfig(_config.log_level)
control_socket_disable = True  # no gunicornc socket in the home directory
