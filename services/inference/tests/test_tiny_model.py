import json

from diffusers import StableDiffusionPipeline

from atelier_inference.tiny_model import MARKER_FILE, bytes_to_unicode, ensure, is_complete, write_tokenizer_files


def test_tiny_model_is_complete_and_labelled(tiny_model_dir):
    assert is_complete(tiny_model_dir)
    marker = json.loads((tiny_model_dir / MARKER_FILE).read_text())
    assert marker["tiny"] is True and "noise" in marker["note"]
    assert list(tiny_model_dir.glob("*/*.safetensors")), "weights must be saved as safetensors"
    assert not list(tiny_model_dir.glob("*/*.bin"))


def test_second_build_is_skipped(tiny_model_dir, capsys):
    before = (tiny_model_dir / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns
    assert ensure(tiny_model_dir) is False
    assert "already complete" in capsys.readouterr().out
    assert (tiny_model_dir / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns == before


def test_incomplete_folder_is_rebuilt(tmp_path):
    out = tmp_path / "tiny"
    (out / "unet").mkdir(parents=True)
    (out / "model_index.json").write_text("{}")
    assert not is_complete(out)
    assert ensure(out) is True
    assert is_complete(out)


def test_loads_through_from_pretrained_like_real_sd(tiny_model_dir):
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    assert pipe.vae_scale_factor == 8
    assert pipe.tokenizer.model_max_length == 77
    ids = pipe.tokenizer("a lighthouse").input_ids
    assert ids[0] == pipe.tokenizer.bos_token_id and ids[-1] == pipe.tokenizer.eos_token_id
    assert pipe.tokenizer.decode(ids, skip_special_tokens=True) == "a lighthouse"
    assert pipe.safety_checker is None


def test_tokenizer_vocab_covers_every_byte(tmp_path):
    size = write_tokenizer_files(tmp_path)
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    assert size == len(vocab) == 2 * 256 + 2
    assert len(set(bytes_to_unicode().values())) == 256
    assert {"<|startoftext|>", "<|endoftext|>"} <= vocab.keys()
    assert len(set(vocab.values())) == len(vocab)
