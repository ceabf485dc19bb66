"""The architectures bench/model_families.py measures: SD 1.5, SDXL base 1.0 and FLUX.1 [schnell]
at their published hyper-parameters (diffusers' config.json of each model repository), built
with random weights, and the job each runs (the tiny families' for --tiny)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from atelier_inference.tiny_families import t5_tokenizer
from atelier_inference.tiny_model import write_tokenizer_files
from gpu_pipeline import CLIP_L, SD15_UNET, VAE

PROMPT = "a lighthouse on a cliff at dusk, oil painting"

# Published hyper-parameters (diffusers' config.json of each model repository).
SD_SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                    steps_offset=1)
SDXL_UNET = dict(sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280), attention_head_dim=(5, 10, 20),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                 transformer_layers_per_block=(1, 2, 10), cross_attention_dim=2048, use_linear_projection=True,
                 addition_embed_type="text_time", addition_time_embed_dim=256,
                 projection_class_embeddings_input_dim=2816)
# force_upcast stays at its default (True), as published: the fp16 pipeline decodes in float32.
SDXL_VAE = dict(VAE, sample_size=1024, scaling_factor=0.13025)
# OpenCLIP ViT-bigG/14's text tower, with its projection (SDXL's text_encoder_2).
CLIP_BIG_G = dict(vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                  num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu", projection_dim=1280)
FLUX_TRANSFORMER = dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
                        num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
                        guidance_embeds=False, axes_dims_rope=(16, 56, 56))
# T5 v1.1 XXL, encoder only.
T5_XXL = dict(vocab_size=32128, d_model=4096, d_ff=10240, d_kv=64, num_layers=24, num_heads=64,
              feed_forward_proj="gated-gelu", relative_attention_num_buckets=32, relative_attention_max_distance=128,
              layer_norm_epsilon=1e-6, tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
              decoder_start_token_id=0)
FLUX_VAE = dict(VAE, latent_channels=16, sample_size=1024, scaling_factor=0.3611, shift_factor=0.1159,
                use_quant_conv=False, use_post_quant_conv=False)
FLUX_SCHEDULER = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, base_shift=0.5, max_shift=1.15,
                      base_image_seq_len=256, max_image_seq_len=4096)


@dataclass(frozen=True)
class Arch:
    name: str
    label: str
    tiny_family: str          # atelier_inference.tiny_model's family for --tiny
    dtype: str                # the published one
    size: int
    steps: int
    guidance: float
    negative_prompt: str      # "" where the family takes none (FLUX; schnell runs without guidance)
    folder: str               # the saved folder's name (families.detect reads the variant from it too)


ARCHS = {arch.name: arch for arch in (
    Arch("sd15", "Stable Diffusion 1.5", "sd1", "float16", 512, 30, 7.5, "blurry", "sd15"),
    Arch("sdxl", "SDXL base 1.0", "sdxl", "float16", 1024, 30, 7.0, "blurry", "sdxl-base"),
    Arch("flux", "FLUX.1 [schnell]", "flux", "bfloat16", 1024, 4, 0.0, "", "flux-schnell"),
)}
TINY_SIZE, TINY_MAX_STEPS = 128, 4


def params_for(arch: Arch, tiny: bool) -> dict[str, Any]:
    """The job the bench runs; run_job checks it against the family's limits like any job."""
    size, steps, guidance = arch.size, arch.steps, arch.guidance
    if tiny:
        # The tiny FLUX is built with a guidance embedding (FLUX.1 [dev]'s layout): 3.5 is its default.
        size, steps = TINY_SIZE, min(steps, TINY_MAX_STEPS)
        guidance = 3.5 if arch.name == "flux" else guidance
    return {"kind": "txt2img", "prompt": PROMPT, "negative_prompt": arch.negative_prompt, "width": size, "height": size,
            "steps": steps, "guidance": guidance, "seed": 1, "scheduler": "default", "n": 1, "model": arch.name}


# --- building the real architectures with random weights ---------------------------------------

def _clip_tokenizer(workdir: Path) -> Any:
    """Byte-level vocabulary written offline (tiny_model's): ids stay below CLIP's 49408 rows."""
    from transformers import CLIPTokenizer

    source = workdir / "clip-tokenizer"
    if not (source / "vocab.json").is_file():
        write_tokenizer_files(source)
    return CLIPTokenizer.from_pretrained(str(source), model_max_length=77)


def _clip(config: dict[str, Any], tokenizer: Any, *, projection: bool = False) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(CLIPTextConfig(**config, **ids))


def _scheduler(cls: Any, **config: Any) -> Any:
    """Schedulers keep their tables on the CPU; the modules are built under the device's context."""
    with torch.device("cpu"):
        return cls(**config)


def _build_sd15(workdir: Path) -> Any:
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    tokenizer = _clip_tokenizer(workdir)
    return StableDiffusionPipeline(
        vae=AutoencoderKL(**VAE), text_encoder=_clip(CLIP_L, tokenizer), tokenizer=tokenizer,
        unet=UNet2DConditionModel(**SD15_UNET),
        scheduler=_scheduler(PNDMScheduler, **SD_SCHEDULER, skip_prk_steps=True, set_alpha_to_one=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def _build_sdxl(workdir: Path) -> Any:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    tokenizer = _clip_tokenizer(workdir)
    return StableDiffusionXLPipeline(
        vae=AutoencoderKL(**SDXL_VAE), text_encoder=_clip(dict(CLIP_L, projection_dim=768), tokenizer),
        text_encoder_2=_clip(CLIP_BIG_G, tokenizer, projection=True), tokenizer=tokenizer, tokenizer_2=tokenizer,
        unet=UNet2DConditionModel(**SDXL_UNET),
        scheduler=_scheduler(EulerDiscreteScheduler, **SD_SCHEDULER, timestep_spacing="leading"),
        force_zeros_for_empty_prompt=True)


def _build_flux(workdir: Path) -> Any:
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import T5Config, T5EncoderModel

    tokenizer = _clip_tokenizer(workdir)
    return FluxPipeline(
        transformer=FluxTransformer2DModel(**FLUX_TRANSFORMER),
        scheduler=_scheduler(FlowMatchEulerDiscreteScheduler, **FLUX_SCHEDULER), vae=AutoencoderKL(**FLUX_VAE),
        text_encoder=_clip(CLIP_L, tokenizer), tokenizer=tokenizer,
        # T5's vocabulary made offline (tiny_families'): its ids stay below T5-XXL's 32128 rows.
        text_encoder_2=T5EncoderModel(T5Config(**T5_XXL)), tokenizer_2=t5_tokenizer())


BUILDERS: dict[str, Callable[[Path], Any]] = {"sd15": _build_sd15, "sdxl": _build_sdxl, "flux": _build_flux}


def component_params(pipe: Any) -> dict[str, float]:
    """Millions of parameters per module: the check that the architecture is the published one."""
    return {name: round(sum(p.numel() for p in module.parameters()) / 1e6, 1)
            for name, module in pipe.components.items() if isinstance(module, torch.nn.Module)}


def build_random(arch: Arch, workdir: Path, device: str) -> tuple[Any, dict[str, float]]:
    """The pipeline with random weights, initialised on the device (seconds, where the CPU takes
    minutes for FLUX's 12B) in float32, then cast to the published dtype."""
    torch.manual_seed(0)
    with torch.device(device):
        pipe = BUILDERS[arch.name](workdir)
    return pipe.to(dtype=getattr(torch, arch.dtype)), component_params(pipe)
