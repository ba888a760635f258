# tests/domain/test_domain_pipeline.py's firmware side: an xl.cfg file taken
# through config, image and arm64 to loaded kernel and initrd and a guest
# DTB, with no hypervisor; and the tables the docs must follow.
from xen.domain import arm64, config, fdt, image
from domlib import sha


def cfg_to_plan(consts, cfg_path, dtb_out, version):
    """The plan for the guest cfg_path describes (DTB written to dtb_out):
    [kernel bytes loaded, their digest, initrd bytes, digest, kernel address,
    kernel room, initrd address, DTB address, vcpu0, RAM banks]."""
    cfg = config.load(cfg_path)
    k = image.open_kernel(cfg['kernel'])
    rd = image.open_ramdisk(cfg['ramdisk'])
    part = fdt.parse(open(cfg['device_tree'], 'rb').read())
    p = arm64.build(arm64.constants(consts), k, cfg['memory'], cfg['maxvcpus'], 'v2', tuple(version),
                    cmdline=cfg['cmdline'], initrd_size=rd.size, tee=cfg['tee'], partial=part)
    kmem = bytearray(p['kernel_room'])
    n = k.load_into(kmem)
    imem = bytearray(rd.size)
    m = rd.load_into(imem)
    with open(dtb_out, 'wb') as f:
        f.write(p['dtb'])
    return [n, sha(memoryview(kmem)[:n]), m, sha(imem), p['kernel_addr'], p['kernel_room'],
            p['initrd_addr'], p['dtb_addr'], p['vcpu0'], p['banks']]


def config_keys():
    return [k[0] for k in config.KEYS]


def arm64_names():
    return list(arm64.NAMES)
