# SPDX-License-Identifier: Apache-2.0
from .bolt import Bolt
from .usbguard import Usbguard, UsbguardUevent
from .devsyncd import Devsyncd

# 'all' runs these, in this order; probes are run only when named
PEERS = {a.name: a for a in (Bolt, Usbguard, Devsyncd)}
PROBES = {a.name: a for a in (UsbguardUevent,)}
