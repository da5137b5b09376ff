# SPDX-License-Identifier: Apache-2.0
# Writes the SDP seeds of Fuzz/corpus/sdp: the records of Tests/BluetoothTests/SDPEncoding.swift (SampleRecords), encoded
# the same way, plus one record of hostile strings and odd element types.
import struct, os
def h(t,s): return bytes([t<<3|s])
def be(v,w): return v.to_bytes(w,'big')
def uint8(v): return h(1,0)+be(v,1)
def uint16(v): return h(1,1)+be(v,2)
def uint32(v): return h(1,2)+be(v,4)
def boolean(v): return h(5,0)+bytes([1 if v else 0])
def uuid16(v): return h(3,1)+be(v,2)
def uuid32(v): return h(3,2)+be(v,4)
def uuid128(a,b): return h(3,4)+be(a,8)+be(b,8)
def sized(t,body):
    if len(body)<0x100: return h(t,5)+bytes([len(body)])+body
    return h(t,6)+be(len(body),2)+body
def text(s): return sized(4, s if isinstance(s,bytes) else s.encode())
def seq(els): return sized(6,b''.join(els))
def alt(els): return sized(7,b''.join(els))
def record(attrs): return seq([uint16(a)+v for a,v in sorted(attrs)])
def obex(ch): return seq([seq([uuid16(0x0100)]),seq([uuid16(3),uint8(ch)]),seq([uuid16(8)])])
lang=seq([uint16(0x656E),uint16(0x006A),uint16(0x0100)])
irmc=record([(0,uint32(0x10001)),(1,seq([uuid16(0x1104)])),(4,obex(11)),(5,seq([uuid16(0x1002)])),(6,lang),(9,seq([seq([uuid16(0x1104),uint16(0x100)])])),(0x100,text(b"IrMC Synchronization\0")),(0x301,seq([uint8(1),uint8(3),uint8(5)]))])
syncml=record([(0,uint32(0x10002)),(1,seq([uuid128(0x0000000200001000,0x80000002EE000002)])),(4,obex(10)),(5,seq([uuid16(0x1002)])),(9,seq([seq([uuid128(0x0000000200001000,0x80000002EE000002),uint16(0x100)])])),(0x100,text("SyncMLClient"))])
opush=record([(0,uint32(0x10003)),(1,seq([uuid16(0x1105)])),(4,obex(9)),(5,seq([uuid16(0x1002)])),(6,lang),(9,seq([seq([uuid16(0x1105),uint16(0x102)])])),(0x100,text("OBEX Object Push")),(0x303,seq([uint8(1),uint8(2),uint8(3),uint8(0xff)]))])
hfag=record([(0,uint32(0x10004)),(1,seq([uuid16(0x111F),uuid16(0x1203)])),(4,seq([seq([uuid16(0x100)]),seq([uuid16(3),uint8(3)])])),(9,seq([seq([uuid16(0x111E),uint16(0x107)])])),(0x100,text("Voice Gateway")),(0x311,uint16(1))])
pnp=record([(0,uint32(0x10005)),(1,seq([uuid32(0x1200)])),(4,seq([seq([uuid16(0x100),uint16(1)]),seq([uuid16(1)])])),(0x200,uint16(0x103)),(0x201,uint16(1)),(0x202,uint16(0x42)),(0x203,uint16(0x100)),(0x204,boolean(True)),(0x205,uint16(1))])
weird=record([(0,uint32(0x10006)),(1,seq([uuid16(0x1106)])),(4,obex(31)),(0x100,text(b"\xe2\x80\xaeevil\x1b[31m")),(0x101,sized(8,b"http://x")),(0x102,alt([uint8(1),h(2,1)+be(0xffff,2)])),(0x103,h(0,0)),(0x104,h(1,4)+bytes(16)),(0x105,h(1,3)+bytes(8))])
out=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'sdp')
files={'irmc-sync':irmc,'syncml-client':syncml,'object-push':opush,'handsfree-gateway':hfag,'pnp-information':pnp,'hostile-strings':weird,
 'attribute-lists':seq([irmc,syncml,opush,hfag,pnp]),'attribute-lists-one':seq([irmc]),'attribute-lists-empty':seq([])}
for n,b in files.items(): open(os.path.join(out,n),'wb').write(b)
