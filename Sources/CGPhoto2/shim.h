// SPDX-License-Identifier: Apache-2.0
#include <gphoto2/gphoto2.h>
