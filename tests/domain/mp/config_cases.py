# tests/domain/test_domain_config.py's firmware side: xen.domain.config
# parses and validates xl.cfg files and dicts; refusals come back as
# domlib.refusal's [type name, message, classes].
from xen.domain import config
from domlib import refusal


def load(path):
    return config.load(path)


def load_error(path):
    return refusal(config.load, path)


def validate(cfg):
    return config.validate(cfg)


def validate_error(cfg):
    return refusal(config.validate, cfg)


def parse(text):
    """config.parse of the text: [values, line of each setting]."""
    return config.parse(text)


def file_and_dict(path):
    """[load(path) == validate(its parsed values), the parsed values, the
    line of its irqs]."""
    raw, lines = config.parse(open(path).read())
    return [config.load(path) == config.validate(dict(raw)), raw, lines['irqs']]


def error_fields(path):
    """The ConfigError loading path raised: [message, key, line, file name]."""
    try:
        config.load(path)
    except config.ConfigError as e:
        return [str(e), e.key, e.line, e.fname]
    return None


def as_value_error(path):
    """The error loading path raised, caught as a ValueError: [key, line,
    whether it is a ConfigError]."""
    try:
        config.load(path)
    except ValueError as e:
        return [e.key, e.line, isinstance(e, config.ConfigError)]
    return None


def python_values():
    """validate() takes what a Python caller has: a stream as kernel, a
    numeric label, a tuple, dicts for vif and iomem, one disk string."""
    import io
    k = io.BytesIO(b'x')
    c = config.validate({'name': 'g', 'kernel': k, 'seclabel': 12, 'irqs': (40,),
                         'vif': [{'bridge': 'br0', 'backend': 'drv'}], 'disk': '/img,xvda,r',
                         'iomem': [{'start': 0x10, 'number': 2}]})
    return [c['kernel'] is k, c['seclabel'], c['irqs'], c['vif'], c['disk'][0]['access'],
            c['iomem'], c['depends_on']]


def doc_table():
    """config.doc(): [setting name, description] rows."""
    return [[n, d] for n, d, _ in config.doc()]
