"""Builds a tiny, randomly initialised diffusers pipeline on disk: Stable Diffusion 1.x by
default, or SDXL, SD3 or FLUX.1 with ``--family`` (those are in tiny_families).

No network is needed: the tokenizer's vocabulary is written here (byte-level BPE with
no merges) and every model is made from a config with a fixed seed. The result loads
through ``StableDiffusionPipeline.from_pretrained`` like a real checkpoint, so the whole
platform exercises the real loading path on a laptop. Its pictures are noise.

    python -m atelier_inference.tiny_model --out var/models/tiny-sd
    python -m atelier_inference.tiny_model --family flux --out var/models/tiny-flux
    python -m atelier_inference.tiny_model --lora var/loras/tiny-lora.safetensors   # and a random LoRA for it
"""
from __future__ import annotations

import argparse
import zlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

MARKER_FILE = "atelier_tiny.json"
MARKER = {"tiny": True, "format": 1, "note": "random weights: images are noise"}
# --family: sd1 is built here; the others by tiny_families. The marker names the family, so the
# worker knows it without guessing (SD 1.x and 2.x share a pipeline class).
TINY_FAMILIES = ("sd1", "sdxl", "sd3", "flux")
SEED = 20261123
MAX_TOKENS = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# Files whose presence means a previous build finished (written last: the marker).
REQUIRED_FILES = (
    "model_index.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/model.safetensors",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "scheduler/scheduler_config.json",
    MARKER_FILE,
)


def is_complete(path: Path, family: str = "sd1") -> bool:
    if family == "sd1":
        return all((path / name).is_file() for name in REQUIRED_FILES)
    # The marker is written last, into the staging folder, which is renamed whole: its presence
    # with the right family means a finished build.
    try:
        marker = json.loads((path / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("family") == family and (path / "model_index.json").is_file()


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def write_tokenizer_files(directory: Path) -> int:
    """CLIP's layout: every byte, every byte ending a word, then the two special tokens.

    With no merges each word becomes one token per byte, which is all a random
    text encoder needs. Returns the vocabulary size.
    """
    directory.mkdir(parents=True, exist_ok=True)
    symbols = sorted(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
    for symbol in symbols:
        vocab[symbol + "</w>"] = len(vocab)
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    return len(vocab)


def _step(message: str, started: float) -> None:
    print(f"tiny-model: [{time.monotonic() - started:5.1f}s] {message}", flush=True)


def build(out: Path, family: str = "sd1") -> None:
    if family != "sd1":
        return _build_other(out, family)
    # Imported here so `--help` and the completeness check stay fast.
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=".tiny-sd-", dir=out.parent))
    try:
        _step("writing tokenizer vocabulary (byte-level BPE)", started)
        vocab_size = write_tokenizer_files(staging / "tokenizer_src")
        tokenizer = CLIPTokenizer.from_pretrained(str(staging / "tokenizer_src"), model_max_length=MAX_TOKENS)

        torch.manual_seed(SEED)
        _step("text encoder: CLIP, hidden 32, 2 layers, 2 heads", started)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=vocab_size,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                max_position_embeddings=MAX_TOKENS,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
                projection_dim=32,
            )
        )
        _step("unet: 2 blocks (32, 64), cross-attention 32 on the coarse block", started)
        unet = UNet2DConditionModel(
            sample_size=64,
            in_channels=4,
            out_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            # Attention only at the coarser level: at full latent size (64x64 for a 512
            # image) it would cost 16x more and dominate CPU generation time.
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=4,
            norm_num_groups=16,
        )
        # Four blocks so the VAE downsamples 8x like real Stable Diffusion: the same
        # width/height rules (multiples of 8) hold for the tiny and the real models.
        _step("vae: 4 blocks (16, 16, 32, 32), latents 1/8 of the image", started)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            latent_channels=4,
            block_out_channels=(16, 16, 32, 32),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=1,
            norm_num_groups=8,
            sample_size=512,
            mid_block_add_attention=False,
        )
        scheduler = DDIMScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            clip_sample=False, set_alpha_to_one=False, steps_offset=1,
        )
        pipe = StableDiffusionPipeline(
            vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )
        if pipe.vae_scale_factor != 8:
            raise RuntimeError(f"tiny VAE scale factor is {pipe.vae_scale_factor}, expected 8")

        target = staging / "model"
        _step(f"saving (safetensors) to {out}", started)
        pipe.save_pretrained(str(target), safe_serialization=True)
        # Recent transformers saves only tokenizer.json; keep the classic CLIP files too
        # so older loaders and other tools read the same vocabulary.
        write_tokenizer_files(target / "tokenizer")
        (target / MARKER_FILE).write_text(json.dumps({**MARKER, "family": "sd1"}, indent=2) + "\n")

        _step("checking it loads through from_pretrained", started)
        loaded = StableDiffusionPipeline.from_pretrained(str(target))
        if loaded.vae_scale_factor != 8 or loaded.tokenizer.model_max_length != MAX_TOKENS:
            raise RuntimeError("the saved tiny model does not load back as built")

        if out.exists():
            shutil.rmtree(out)
        target.rename(out)  # same filesystem: a reader never sees half a model
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _step("done", started)


def _build_other(out: Path, family: str) -> None:
    """SDXL, SD3, FLUX.1: built by tiny_families, saved, checked through the auto pipeline."""
    import torch
    from diffusers import AutoPipelineForText2Image

    from .tiny_families import BUILDERS

    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".tiny-{family}-", dir=out.parent))
    try:
        torch.manual_seed(SEED)
        _step(f"{family}: every module a few channels wide, one or two layers", started)
        pipe = BUILDERS[family](staging)
        target = staging / "model"
        _step(f"saving (safetensors) to {out}", started)
        pipe.save_pretrained(str(target), safe_serialization=True)
        (target / MARKER_FILE).write_text(json.dumps({**MARKER, "family": family}, indent=2) + "\n")
        _step("checking it loads through AutoPipelineForText2Image", started)
        loaded = AutoPipelineForText2Image.from_pretrained(str(target), local_files_only=True)
        if type(loaded) is not type(pipe):
            raise RuntimeError(f"the saved tiny model loads as {type(loaded).__name__}, not {type(pipe).__name__}")
        if out.exists():
            shutil.rmtree(out)
        target.rename(out)  # same filesystem: a reader never sees half a model
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _step("done", started)


def ensure(out: Path, *, force: bool = False, family: str = "sd1") -> bool:
    """Build unless a complete model is already there. Returns whether it built."""
    out = out.resolve()
    if is_complete(out, family) and not force:
        print(f"tiny-model: {out} is already complete; nothing to do", flush=True)
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    build(out, family)
    return True


LORA_RANK = 2
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # the UNet's attention projections


def build_lora(model: Path, out: Path, *, seed: int = SEED, rank: int = LORA_RANK) -> Path:
    """A random rank-``rank`` LoRA for the tiny SD model's UNet, in diffusers' LoRA format
    (``out``: a ``.safetensors`` file; a ``.json`` sidecar names its family). Both LoRA matrices
    are random (peft's default leaves B at zero, which would change nothing), so a job that
    applies it makes a visibly different picture."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=LORA_TARGETS, init_lora_weights=False))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    out.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(out.parent, unet_lora_layers=layers, weight_name=out.name,
                                              safe_serialization=True)
    out.with_suffix(".json").write_text(json.dumps({"family": "sd1", **MARKER}) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    from .config import resolve_path

    parser = argparse.ArgumentParser(description="Build a tiny random diffusers pipeline (Stable Diffusion 1.x by default).")
    parser.add_argument("--family", choices=TINY_FAMILIES, default="sd1")
    parser.add_argument("--out", default=None, help="default var/models/tiny-sd (sd1) or var/models/tiny-<family>; "
                        "relative paths are resolved against the repository root")
    parser.add_argument("--force", action="store_true", help="rebuild even when a complete model is there")
    parser.add_argument("--lora", default=None, metavar="FILE.safetensors",
                        help="also write a random rank-2 LoRA for the tiny SD model there (with its .json sidecar)")
    args = parser.parse_args(argv)
    out = args.out or ("var/models/tiny-sd" if args.family == "sd1" else f"var/models/tiny-{args.family}")
    ensure(resolve_path(out), force=args.force, family=args.family)
    if args.lora:
        if args.family != "sd1":
            parser.error("--lora makes a LoRA for the tiny SD model (--family sd1)")
        lora = resolve_path(args.lora)
        # Each name its own weights, the same ones on every machine.
        build_lora(resolve_path(out), lora, seed=SEED + zlib.crc32(lora.stem.encode()) % 100_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
