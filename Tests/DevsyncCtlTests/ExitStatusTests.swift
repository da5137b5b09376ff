// SPDX-License-Identifier: Apache-2.0
import DBus
import Testing
@testable import devsyncctl

@Suite("devsyncctl exit statuses and argument order")
struct ExitStatusTests {
    @Test("each D-Bus error name maps to the documented exit status, keeping the sentence")
    func errorNames() {
        func failure(_ name: String) -> BrokerFailure { BrokerFailure(DBusError(name: name, message: "A sentence.")) }
        #expect(failure("org.devsync.Broker1.Error.NoSuchDevice").status == 3)
        #expect(failure("org.devsync.Broker1.Error.NotAuthorized").status == 4)
        #expect(failure("org.freedesktop.DBus.Error.AccessDenied").status == 4)
        for refused in ["BadState", "NoSuchAction", "NoEngine", "InvalidArgs", "Failed"] {
            #expect(failure("org.devsync.Broker1.Error." + refused).status == 1)
            #expect(failure("org.devsync.Broker1.Error." + refused).message == "A sentence.")
        }
        #expect(failure("org.freedesktop.DBus.Error.UnknownMethod").status == 1)
        for unavailable in [
            "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
            "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected",
            "org.freedesktop.DBus.Error.Spawn.ChildExited",
        ] {
            #expect(failure(unavailable).status == 69, "\(unavailable)")
        }
        #expect(failure("org.freedesktop.DBus.Error.Spawn.ChildExited").message.hasSuffix("A sentence."))
    }

    @Test("--bus and --json before a broker verb move after it; profiles and verb-less lines are left alone")
    func globalOptions() {
        #expect(DevsyncCtl.globalOptionsMoved(["--bus", "session", "info", "usb-1"]) == ["info", "--bus", "session", "usb-1"])
        #expect(DevsyncCtl.globalOptionsMoved(["--json", "--bus=unix:path=/b", "list"]) == ["list", "--json", "--bus=unix:path=/b"])
        #expect(DevsyncCtl.globalOptionsMoved(["--bus", "session"]) == ["--bus", "session"])
        #expect(DevsyncCtl.globalOptionsMoved(["list", "--json"]) == ["list", "--json"])
        #expect(DevsyncCtl.globalOptionsMoved(["--json", "profiles", "list"]) == ["--json", "profiles", "list"])
    }
}
