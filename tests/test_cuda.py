"""The CUDA path: every model forward and backward on a GPU, bf16 / fp16 autocast with channels_last,
``torch.compile``, the shipped weights on the GPU against the CPU, in-memory batches on the device.

Collected everywhere, run only where CUDA is available (``pytest -m cuda``; ``scripts/gpu_check.py``
runs them first); elsewhere every test is skipped with the missing device as the reason.
"""
import pytest
import torch
import torch.nn.functional as F

import timm
import timm_ran
from conftest import CIFAR_MODELS, small_input_size
from timm_ran.training.batch_data import BatchAugment, ImageTensors, TensorBatchLoader

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason='needs a CUDA device: torch.cuda.is_available() is False on this machine'),
]
CUDA = torch.device('cuda')
AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]
SMALL_VIT = dict(vit_model='vit_tiny_patch16_224', img_size=32, vit_kwargs=dict(depth=2, patch_size=8))


def _batch(model_name: str, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 3, *small_input_size(model_name))


@pytest.mark.parametrize('model_name', timm_ran.MODEL_NAMES)
def test_forward_and_backward_on_cuda(model_name):
    model = timm.create_model(model_name).to(CUDA).train()
    out = model(_batch(model_name).to(CUDA))
    assert out.device.type == 'cuda' and out.shape == (2, model.num_classes)
    out.float().logsumexp(1).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and g.device.type == 'cuda' and torch.isfinite(g).all() for g in grads)


def test_attnrefine_forward_and_backward_on_cuda():
    model = timm.create_model('attnrefine_resnet8', a=0.5, **SMALL_VIT).to(CUDA).train()
    out = model(torch.randn(2, 3, 32, 32, device=CUDA))
    out.sum().backward()
    assert out.shape == (2, 10) and all(p.grad is None for p in model.attn_source.vit.parameters())
    assert torch.isfinite(model.head.fc.weight.grad).all()


@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES, ids=['bf16', 'fp16'])
@pytest.mark.parametrize('model_name', ['attention56', 'attention92', 'attention56_imagenet'])
def test_autocast_with_channels_last_on_cuda(model_name, dtype):
    model = timm.create_model(model_name).to(CUDA).eval().to(memory_format=torch.channels_last)
    x = _batch(model_name, 4).to(CUDA).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = model(x).float()
        with torch.autocast('cuda', dtype=dtype):
            low = model(x)
    assert low.dtype == dtype
    torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=0.05 * reference.abs().max().item())
    model.train()
    with torch.autocast('cuda', dtype=dtype):
        loss = F.cross_entropy(model(x), torch.zeros(4, dtype=torch.long, device=CUDA))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize('model_name', ['attention56', 'attention56_imagenet'])
def test_torch_compile_on_cuda_matches_eager(model_name):
    model = timm.create_model(model_name).to(CUDA).eval()
    x = _batch(model_name).to(CUDA)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-3, atol=1e-3)
    model.train()
    compiled(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_shipped_weights_on_cuda_match_the_cpu():
    """The shipped attention56 weights give the CPU's fp32 logits on the GPU: in fp32 (up to TF32
    convolutions) and under bf16 autocast within bf16's precision, with the same predicted classes."""
    model = timm.create_model('attention56', pretrained=True).eval()
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cpu = model(x)
        model.to(CUDA)
        gpu = model(x.to(CUDA)).cpu()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            gpu_bf16 = model(x.to(CUDA)).float().cpu()
    scale = cpu.abs().max().item()
    torch.testing.assert_close(gpu, cpu, rtol=1e-2, atol=1e-2 * scale)
    torch.testing.assert_close(gpu_bf16, cpu, rtol=0.05, atol=0.05 * scale)
    assert (gpu.argmax(1) == cpu.argmax(1)).float().mean() >= 0.9


def test_in_memory_batches_on_cuda_equal_the_cpu_ones():
    """The batch augmentation draws its crops and flips on the CPU, so a seed gives the same batches on
    the GPU as on the CPU."""
    data = ImageTensors(torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8), torch.arange(40))
    batches = {}
    for device in ('cpu', 'cuda'):
        augment = BatchAugment((0.5,) * 3, (0.25,) * 3, device=device)
        loader = TensorBatchLoader(data, 8, augment, shuffle=True, seed=3, device=device)
        batches[device] = [(images.cpu(), labels.cpu()) for images, labels in loader]
        assert all(images.device.type == device for images, _ in loader)
    for (cpu_images, cpu_labels), (gpu_images, gpu_labels) in zip(batches['cpu'], batches['cuda']):
        assert torch.equal(cpu_labels, gpu_labels)
        torch.testing.assert_close(gpu_images, cpu_images, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('model_name', [n for n in CIFAR_MODELS if n in ('attention56', 'resnet164_cifar')])
def test_train_step_under_fp16_grad_scaling_on_cuda(model_name):
    """fp16 training as timm_ran.train runs it (--amp --amp-dtype float16): a gradient scaler, loss falls."""
    model = timm.create_model(model_name).to(CUDA).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler('cuda')
    x, y = torch.randn(32, 3, 32, 32, device=CUDA), torch.randint(0, 10, (32,), device=CUDA)
    losses = []
    for _ in range(8):
        with torch.autocast('cuda', dtype=torch.float16):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
