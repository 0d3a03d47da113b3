"""Serving tfxai models: export apps, an embedded TF-Serving-compatible server, clients.

Train, export, serve and query (the README's quick start):

    python trainers/classifier.py --config=configs/digits_pc.py --workdir=/tmp/digits_pc
    python -m serving.export --workdir=/tmp/digits_pc --explainers=ig,agi
    python -m serving.server --model_name=digits_pc \\
        --model_base_path=/tmp/digits_pc/export/digits_pc --rest_api_port=8501
    python -m serving.client --server=http://127.0.0.1:8501 --model_name=digits_pc \\
        --input=digits.npy --method=ig --output=/tmp/heatmap.png

The SavedModels run unchanged under `tensorflow/serving` (see `docker-compose.yml`,
`models.config`, `batching.config` here); the REST requests are the same for both.
Modules: `serving.export` (absl app around `tfxai.export.export_classifier`),
`serving.server` (the embedded server; needs only TensorFlow, Starlette, uvicorn and, for
gRPC or `--model_config_file`, `tensorflow-serving-api`), `serving.client` (REST and gRPC
clients returning numpy, and a command line that writes heatmap PNGs).
"""
