#!/usr/bin/env python3
"""Step-by-step replays of what the model-zoo loaders do to their model
directory (GluonCV and MXNet cannot be installed here).  Each step is the
system call the real loader makes, in the same order, with its arguments.

  loaders.py gluoncv NAME SHA1 [--hold SECONDS] [--locked FILE]
      GluonCV 0.10 gluoncv.model_zoo.model_store.get_model_file(NAME)
      with SHA1 as _model_sha1[NAME], then the loader's full read.
      --hold sleeps inside the lock, --locked FILE is created once the lock
      is held (test hooks, not GluonCV).
  loaders.py mxnet NAME SHA1
      MXNet 1.9.1 mxnet.gluon.model_zoo.model_store.get_model_file(NAME),
      then mx.nd.load's read of the file.

root is $MXNET_HOME/models.  Prints one line and exits 0:
  ok PATH SHA1_OF_THE_LOADED_BYTES lock_retries=N
or exits 1 after one line, when an error ended the loader as it would
end the real one (e.g. EROFS creating the zip it wants to download):
  error ERRNO_NAME FILE
  error LockException FILE     (portalocker gave up waiting)
The loaders' log lines go to stderr.
"""
import errno
import fcntl
import hashlib
import os
import sys
import time
import uuid


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sha1_in_1mib_reads(filename):
    # check_sha1 of both: open(filename, 'rb'), f.read(1048576) until EOF.
    sha1 = hashlib.sha1()
    with open(filename, 'rb') as f:
        while True:
            data = f.read(1048576)
            if not data:
                break
            sha1.update(data)
    return sha1.hexdigest()


def gluoncv_check_sha1(filename, sha1_hash):
    # gluoncv.utils.check_sha1 compares the common prefix.
    sha1_file = sha1_in_1mib_reads(filename)
    l = min(len(sha1_file), len(sha1_hash))
    return sha1_file[0:l] == sha1_hash[0:l]


def mxnet_check_sha1(filename, sha1_hash):
    # mxnet.gluon.utils.check_sha1 compares all of it.
    return sha1_in_1mib_reads(filename) == sha1_hash


class LockException(Exception):
    pass


class PortalockerLock:
    """portalocker 2.x Lock(filename, timeout=T): mode 'a', flags
    LOCK_EX | LOCK_NB, fail_when_locked False, check_interval 0.25 s."""

    def __init__(self, filename, timeout, check_interval=0.25):
        self.filename = filename
        self.timeout = timeout
        self.check_interval = check_interval
        self.fh = None
        self.retries = 0

    def _lock(self, fh):
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def __enter__(self):
        fh = open(self.filename, 'a')
        try:
            self._lock(fh)
        except BlockingIOError as first:
            end = time.time() + self.timeout
            while True:
                if time.time() >= end:
                    fh.close()
                    raise LockException(self.filename) from first
                time.sleep(self.check_interval)
                self.retries += 1
                try:
                    self._lock(fh)
                    break
                except BlockingIOError:
                    pass
        self.fh = fh
        return fh

    def __exit__(self, *exc):
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
        self.fh.close()
        self.fh = None


def download(path, temporary):
    # gluoncv.utils.download / mxnet.gluon.utils.download(url, path,
    # overwrite=True): once the GET has started (not replayed: no mirror is
    # contacted) the zip is written into root, by MXNet 1.9.1 first to
    # "<path>.<uuid4>".  On the mount that open is where the loader dies.
    if temporary:
        path = '{}.{}'.format(path, str(uuid.uuid4()))
    with open(path, 'wb'):
        pass
    raise AssertionError('created %s: the mount accepted a download' % path)


def gluoncv_get_model_file(name, sha1_hash, hold=0.0, locked=None,
                           root=os.path.join('~', '.mxnet', 'models')):
    if 'MXNET_HOME' in os.environ:
        root = os.path.join(os.environ['MXNET_HOME'], 'models')
    file_name = '{name}-{short_hash}'.format(name=name, short_hash=sha1_hash[:8])
    root = os.path.expanduser(root)
    params_path = os.path.join(root, file_name + '.params')
    lockfile = os.path.join(root, file_name + '.lock')
    if not os.path.exists(root):
        os.makedirs(root)
    lock = PortalockerLock(lockfile, int(os.environ.get('GLUON_MODEL_LOCK_TIMEOUT', 300)))
    with lock:
        if locked:
            open(locked, 'w').close()
        if os.path.exists(params_path):
            if gluoncv_check_sha1(params_path, sha1_hash):
                time.sleep(hold)
                return params_path, lock.retries
            log("Mismatch in the content of model file '%s' detected. Downloading again." % params_path)
        else:
            log('Model file not found. Downloading.')
        download(os.path.join(root, file_name + '.zip'), temporary=False)


def mxnet_get_model_file(name, sha1_hash, root=None):
    if root is None:
        # mxnet.base.data_dir(): $MXNET_HOME, else ~/.mxnet
        root = os.path.join(os.environ.get('MXNET_HOME', os.path.join('~', '.mxnet')), 'models')
    file_name = '{name}-{short_hash}'.format(name=name, short_hash=sha1_hash[:8])
    root = os.path.expanduser(root)
    file_path = os.path.join(root, file_name + '.params')
    if os.path.exists(file_path):
        if mxnet_check_sha1(file_path, sha1_hash):
            return file_path, 0
        log('Mismatch in the content of model file detected. Downloading again.')
    else:
        log('Model file not found. Downloading to %s.' % file_path)
    os.makedirs(root, exist_ok=True)  # mxnet.util.makedirs
    download(os.path.join(root, file_name + '.zip'), temporary=True)


def load_params(path):
    # mx.nd.load / net.load_parameters: dmlc's local stream, fopen + fread
    # front to back; returns the SHA-1 of what it read.
    sha1 = hashlib.sha1()
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            sha1.update(data)
    finally:
        os.close(fd)
    return sha1.hexdigest()


def main(argv):
    loader, name, sha1_hash = argv[1], argv[2], argv[3]
    opts = dict(zip(argv[4::2], argv[5::2]))
    try:
        if loader == 'gluoncv':
            path, retries = gluoncv_get_model_file(name, sha1_hash, float(opts.get('--hold', 0)),
                                                   opts.get('--locked'))
        elif loader == 'mxnet':
            path, retries = mxnet_get_model_file(name, sha1_hash)
        else:
            raise SystemExit('loaders.py: unknown loader ' + loader)
        print('ok %s %s lock_retries=%d' % (path, load_params(path), retries))
        return 0
    except OSError as e:
        print('error %s %s' % (errno.errorcode.get(e.errno, str(e.errno)), e.filename))
    except LockException as e:
        print('error LockException %s' % e)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
