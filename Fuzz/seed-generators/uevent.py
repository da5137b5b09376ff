# SPDX-License-Identifier: Apache-2.0
# Writes the uevent seeds of Fuzz/corpus/uevent (format: Fuzz/Entries/UeventFuzzing.swift): a Palm, an iPhone, a
# camera known only from sysfs, hostile strings and descriptors, and a serial shaped like a quarantine name.
import os
out=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'uevent')
def dev(vid,pid,cls=0): return bytes([18,1,0,2,cls,0,0,64])+vid.to_bytes(2,'little')+pid.to_bytes(2,'little')+bytes([0,1,1,2,3,1])
def conf(value, ifs):
    body=b''.join(ifs); total=9+len(body)
    return bytes([9,2])+total.to_bytes(2,'little')+bytes([len([i for i in ifs if i[1]==4 and i[3]==0]),value,0,0x80,50])+body
def iface(n,c,s,p,alt=0): return bytes([9,4,n,alt,2,c,s,p,0])
def ep(addr): return bytes([7,5,addr,2,64,0,0])
def write(name, props, attrs, desc=b''):
    data='\n'.join(f'{k}={v}' for k,v in props.items()).encode()+b'\n--\n'
    data+=b'\n'.join(k.encode()+b'='+(v if isinstance(v,bytes) else v.encode()) for k,v in attrs.items())+b'\n--\n'+desc
    open(os.path.join(out,name),'wb').write(data)
palm={'ACTION':'add','DEVPATH':'/devices/pci0000:00/0000:00:14.0/usb1/1-2','SUBSYSTEM':'usb','DEVTYPE':'usb_device','PRODUCT':'830/61/100','TYPE':'0/0/0','BUSNUM':'001','DEVNUM':'007','DEVNAME':'/dev/bus/usb/001/007','SEQNUM':'4242','USEC_INITIALIZED':'123456789','ID_PDA':'1','ID_PATH':'pci-0000:00:14.0-usb-0:2','ID_USB_INTERFACES':':ff0000:','DRIVER':'usb'}
write('palm-visor', palm, {'manufacturer':'Palm, Inc.','product':'Palm Handheld','serial':'PALM0001','bConfigurationValue':'1','bNumInterfaces':' 1','tty':'ttyUSB1'},
      dev(0x830,0x61)+conf(1,[iface(0,0xff,0,0),ep(0x81),ep(2)]))
iphone={'ACTION':'add','DEVPATH':'/devices/pci0000:00/0000:00:14.0/usb1/1-4','DEVTYPE':'usb_device','PRODUCT':'5ac/12a8/1101','TYPE':'0/0/0','BUSNUM':'1','DEVNUM':'9','USBMUX_SUPPORTED':'1','ID_VENDOR_FROM_DATABASE':'Apple, Inc.','ID_MODEL_FROM_DATABASE':'iPhone 5/5C/5S/6/SE/7/8/X/XR','ID_USB_INTERFACES':':060101:ffc342:fffe02:'}
write('iphone', iphone, {'serial':'00008030001A2D3E0E38802E','bConfigurationValue':'4'},
      dev(0x5ac,0x12a8)+conf(1,[iface(0,6,1,1)])+conf(4,[iface(0,6,1,1),iface(1,0xff,0xfe,2),iface(2,0xff,0xc3,0x42),iface(1,0xff,0xfe,2,alt=1)]))
write('camera-sysfs-only', {'DEVPATH':'/devices/pci0000:00/0000:00:14.0/usb2/2-1','ID_GPHOTO2':'1'},
      {'idVendor':'04a9\n','idProduct':'3218\n','bcdDevice':'0002\n','bDeviceClass':'00\n','bDeviceSubClass':'00\n','bDeviceProtocol':'00\n','busnum':'2\n','devnum':'3\n','manufacturer':'Canon Inc.\n','product':'Canon Digital Camera\n','bConfigurationValue':'1\n'},
      dev(0x4a9,0x3218)+conf(1,[iface(0,6,1,1),ep(0x81),ep(2),ep(0x83)]))
write('hostile-strings', {'DEVPATH':'/devices/pci0000:00/0000:00:14.0/usb1/1-3','PRODUCT':'ffffffff/zz/100000000','TYPE':'256/-1/','ID_MTP_DEVICE':'1','ID_USB_INTERFACES':':06010:xyzxyz:ffffff','SYNTH_UUID':'0','INTERFACE':'8/6/80'},
      {'serial':b'   \t\xff ','manufacturer':b'\x1b[31mEVIL\x00\xe2\x80\xae','product':b'\xc0\xaf../../etc/passwd','bConfigurationValue':'7'},
      dev(0x1,0x2)+bytes([9,2,0xff,0xff,0,1,0,0,0])+bytes([2,4])+bytes([0,0,0]))
write('serial-corrupt-name', {'DEVPATH':'/devices/pci0000:00/0000:00:14.0/usb1/1-5','PRODUCT':'830/60/100'}, {'serial':'EVIL.corrupt-7'}, b'')
write('empty', {}, {}, b'')
