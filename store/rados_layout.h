// The shared store on a Ceph cluster: the SpaceOpener of StoreOptions::shared_spaces for
// [store] backend = "rados". The opener connects at its first call (once, whichever thread calls;
// every call after a failed connection tries again) and opens each space as a RadosSpace on that
// connection, so loading a configuration never reaches the cluster and a command that opens no
// store never does.
#pragma once

#include "store/options.h"
#include "store/rados_space.h"

namespace vmx::store {

SpaceOpener rados_spaces(RadosOptions options);

}  // namespace vmx::store
