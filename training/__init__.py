"""The model pipeline: data → QLoRA → merge → GGUF → Modelfile → `ollama create takeaways`.

Built in the training issue; it formats examples with `takeaways_daemon.prompt_format`.
"""
