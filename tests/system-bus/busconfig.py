#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A private dbus-daemon configuration made from the distribution's system bus configuration.

Reads /usr/share/dbus-1/system.conf (or --system-conf) and changes only what a private bus must change; every
policy rule, limit and authentication setting stays the distribution's, so a later Debian change flows in:

  <listen>                                   the given address instead of /run/dbus/system_bus_socket
  <user>, <fork/>, <pidfile>                 dropped: the bus runs in the foreground as whoever starts it
  <standard_system_servicedirs/>,
  <servicehelper>, <servicedir>              dropped: nothing is bus-activated (the rig starts devsyncd itself)
  <includedir>, and the <include>s of /etc   replaced by the given --include files and --includedir directories,
                                             so the host's own policy files (and local overrides) stay out

    busconfig.py --listen unix:path=DIR/socket [--include FILE]... [--includedir DIR]... [--system-conf FILE]

prints the configuration on stdout. Used by tests/system-bus/rig.py and scripts/demo.
"""

import argparse
import sys
import xml.etree.ElementTree as ElementTree

DOCTYPE = ('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
           ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n')
DROPPED = {"user", "fork", "pidfile", "standard_system_servicedirs", "servicehelper", "servicedir",
           "standard_session_servicedirs"}


def private_bus_config(system_conf, listen, includes, includedirs):
    """The text of a configuration: `system_conf`'s, with the changes above."""
    tree = ElementTree.parse(system_conf)
    root = tree.getroot()
    if root.tag != "busconfig":
        raise ValueError(f"{system_conf}: the root element is <{root.tag}>, not <busconfig>")
    listens = root.findall("listen")
    if not listens:
        raise ValueError(f"{system_conf}: no <listen> to replace")
    # Where the distribution includes its policy directories, ours go: after the default policy, so that they
    # punch their holes in it exactly as the installed files do on a real system.
    for element in [element for element in root if element.tag in DROPPED]:
        root.remove(element)
    # An <include> that depends on SELinux stays: it only names security contexts.
    replaced = [element for element in root if element.tag == "includedir"
                or (element.tag == "include" and element.get("if_selinux_enabled") != "yes")]
    position = list(root).index(replaced[0]) if replaced else len(root)
    for element in replaced:
        root.remove(element)
    for element in listens[1:]:
        root.remove(element)
    listens[0].text = listen
    added = []
    for path in includes:
        element = ElementTree.Element("include")
        element.text = path
        added.append(element)
    for path in includedirs:
        element = ElementTree.Element("includedir")
        element.text = path
        added.append(element)
    for offset, element in enumerate(added):
        root.insert(position + offset, element)
    ElementTree.indent(tree)
    return DOCTYPE + ElementTree.tostring(root, encoding="unicode") + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system-conf", default="/usr/share/dbus-1/system.conf")
    parser.add_argument("--listen", required=True, metavar="ADDRESS")
    parser.add_argument("--include", action="append", default=[], metavar="FILE")
    parser.add_argument("--includedir", action="append", default=[], metavar="DIR")
    arguments = parser.parse_args()
    try:
        sys.stdout.write(private_bus_config(
            arguments.system_conf, arguments.listen, arguments.include, arguments.includedir))
    except (OSError, ValueError, ElementTree.ParseError) as error:
        print(f"busconfig.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
