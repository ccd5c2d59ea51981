"""The serving process never imports torch: the real app and engine, built with the onnx backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from schema.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow
HEAVY = ("torch", "transformers", "sentence_transformers")

# What a gunicorn worker runs (qa_api.wsgi.create_wsgi_app builds the services and the engine
# through dialog.factory.build_engine), then one chat turn and the module list.
SCRIPT = """
import json, sys
from qa_api.wsgi import create_wsgi_app
app = create_wsgi_app()
client = app.test_client()
ready = client.get("/readyz")
chat = client.post("/v1/chat", json={"session_id": "no-torch-1", "message": "你们支持七天无理由退货吗", "channel": "web"})
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"ready": ready.status_code, "ready_body": ready.get_json(), "chat": chat.status_code,
                  "reply": chat.get_json(), "heavy": heavy, "onnxruntime": "onnxruntime" in sys.modules}, ensure_ascii=False))
""".replace("HEAVY", repr(HEAVY))


def test_app_and_engine_with_onnx_backend_never_import_torch(demo_graph, settings, redis_server, tmp_path):
    env = {**os.environ, "NEO4J_URI": settings.bolt_uri, "YEBAN_VAR_DIR": str(settings.var_dir),
           "YEBAN_ENCODER_MODEL": str(load_settings().default_encoder_dir), "YEBAN_ENCODER_BACKEND": "onnx",
           "YEBAN_REDIS_URL": redis_server.url, "YEBAN_ENV_FILE": str(tmp_path / "none.env")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # onnxruntime is imported only by the encoder's warm-up inside dialog.factory.build_engine.
    assert result["onnxruntime"], f"the engine did not load the ONNX encoder: {proc.stderr[-3000:]}"
    assert result["heavy"] == [], f"the serving process imported {result['heavy'][:10]}"
    assert result["chat"] == 200, f"no chat engine was built: {proc.stderr[-3000:]}"
    assert result["ready"] == 200, result["ready_body"]
