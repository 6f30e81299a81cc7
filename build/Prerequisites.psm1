<#
.SYNOPSIS
What KgdbOe's build, lab and tests need from the machine, and how each need is checked.

.DESCRIPTION
Every prerequisite is checked by its effect: the command is on PATH, the file exists. A package
manager's word alone is not enough: `dpkg-query -W` prints nothing at all (exit 1) for a package
dpkg never heard of, and earlier code took that empty answer for "installed". Bootstrap installs the
packages whose effect is missing, then checks every effect again and stops with the name of what is
still missing and the package that provides it.
#>
Set-StrictMode -Version Latest

# One row per effect. Kind: Command (found on PATH or in /usr/sbin, /sbin) or File (exists).
$script:Prerequisites = @(
    @{ Package = 'linux-source-6.12'; Kind = 'File'; Effect = '/usr/src/linux-source-6.12.tar.xz'; For = 'the 6.12 lab kernel' }
    @{ Package = 'linux-source-6.1'; Kind = 'File'; Effect = '/usr/src/linux-source-6.1.tar.xz'; For = 'the 6.1 lab kernel' }
    @{ Package = 'xz-utils'; Kind = 'Command'; Effect = 'xz'; For = 'unpacking the kernel source' }
    @{ Package = 'patch'; Kind = 'Command'; Effect = 'patch'; For = 'the lab kernel patches' }
    @{ Package = 'build-essential'; Kind = 'Command'; Effect = 'gcc'; For = 'kernel, kgdboe.ko, the guest workload' }
    @{ Package = 'build-essential'; Kind = 'Command'; Effect = 'make'; For = 'kernel and kgdboe.ko' }
    @{ Package = 'binutils'; Kind = 'Command'; Effect = 'objdump'; For = 'disassembly reference' }
    @{ Package = 'bc'; Kind = 'Command'; Effect = 'bc'; For = 'the kernel build' }
    @{ Package = 'flex'; Kind = 'Command'; Effect = 'flex'; For = 'the kernel build (kconfig)' }
    @{ Package = 'bison'; Kind = 'Command'; Effect = 'bison'; For = 'the kernel build (kconfig)' }
    @{ Package = 'libelf-dev'; Kind = 'File'; Effect = '/usr/include/gelf.h'; For = 'the kernel build (objtool)' }
    @{ Package = 'libssl-dev'; Kind = 'File'; Effect = '/usr/include/openssl/ssl.h'; For = 'the kernel build (sign-file)' }
    @{ Package = 'dwarves'; Kind = 'Command'; Effect = 'pahole'; For = 'the lab kernel''s BTF, and type layouts to compare with' }
    @{ Package = 'cpio'; Kind = 'Command'; Effect = 'cpio'; For = 'the lab initramfs' }
    @{ Package = 'gzip'; Kind = 'Command'; Effect = 'gzip'; For = 'the lab initramfs' }
    @{ Package = 'perl'; Kind = 'Command'; Effect = 'perl'; For = 'the kernel build and checkpatch.pl' }
    @{ Package = 'kmod'; Kind = 'Command'; Effect = 'modinfo'; For = 'kgdboe.ko checks' }
    @{ Package = 'python3'; Kind = 'Command'; Effect = 'python3'; For = 'the junk and UDP probe tools' }
    @{ Package = 'openssl'; Kind = 'Command'; Effect = 'openssl'; For = 'the lab guest''s password' }
    @{ Package = 'openssh-client'; Kind = 'Command'; Effect = 'ssh'; For = 'lab-ssh' }
    @{ Package = 'openssh-client'; Kind = 'Command'; Effect = 'ssh-keygen'; For = 'the lab''s SSH key' }
    @{ Package = 'qemu-system-x86'; Kind = 'Command'; Effect = 'qemu-system-x86_64'; For = 'the lab VMs' }
    # What QEMU itself opens for a lab VM (seen with strace on `-device <nic>`): the BIOS, the
    # -kernel loader and vapic ROMs, and each lab NIC's option ROM; a missing one stops QEMU.
    @{ Package = 'seabios'; Kind = 'File'; Effect = '/usr/share/seabios/bios-256k.bin'; For = 'the lab VMs'' BIOS' }
    @{ Package = 'qemu-system-data'; Kind = 'File'; Effect = '/usr/share/qemu/linuxboot_dma.bin'; For = 'booting the lab kernel with -kernel' }
    @{ Package = 'qemu-system-data'; Kind = 'File'; Effect = '/usr/share/qemu/kvmvapic.bin'; For = 'the lab VMs' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-e1000.rom'; For = 'the lab NIC e1000' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-e1000e.rom'; For = 'the lab NIC e1000e' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-virtio.rom'; For = 'the lab NIC virtio-net' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-vmxnet3.rom'; For = 'the lab NIC vmxnet3' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-pcnet.rom'; For = 'the lab NIC pcnet' }
    @{ Package = 'ipxe-qemu'; Kind = 'File'; Effect = '/usr/lib/ipxe/qemu/efi-rtl8139.rom'; For = 'the lab NIC rtl8139' }
    @{ Package = 'busybox-static'; Kind = 'File'; Effect = '/bin/busybox'; For = 'the lab initramfs' }
    @{ Package = 'dropbear-bin'; Kind = 'Command'; Effect = 'dropbear'; For = 'the lab guest''s SSH server' }
    @{ Package = 'dropbear-bin'; Kind = 'Command'; Effect = 'dropbearkey'; For = 'the lab guest''s host key' }
    @{ Package = 'dropbear-bin'; Kind = 'Command'; Effect = 'dropbearconvert'; For = 'the Debian guest''s host key (same key as the initramfs guest)' }
    @{ Package = 'openssh-sftp-server'; Kind = 'File'; Effect = '/usr/lib/openssh/sftp-server'; For = 'SFTP in the lab guest' }
    @{ Package = 'gdb'; Kind = 'Command'; Effect = 'gdb'; For = 'the stock gdb the tests compare with' }
    @{ Package = 'debootstrap'; Kind = 'Command'; Effect = 'debootstrap'; For = 'the Debian guest that builds kgdboe' }
    @{ Package = 'e2fsprogs'; Kind = 'Command'; Effect = 'mkfs.ext4'; For = 'the Debian guest''s disk' }
    @{ Package = 'rsync'; Kind = 'Command'; Effect = 'rsync'; For = 'the Debian guest''s disk' }
    @{ Package = 'crash'; Kind = 'Command'; Effect = 'crash'; For = 'reading the cores Export-KernelCore writes (Core.Tests)' }
    @{ Package = 'python3-drgn'; Kind = 'Command'; Effect = 'drgn'; For = 'reading the cores Export-KernelCore writes (Core.Tests)' }
)

function Get-KgdbOePrerequisite {
    <#
    .SYNOPSIS
    The prerequisite table: Package, Kind (Command or File), Effect (command name or path), For.
    #>
    [CmdletBinding()]
    param()
    foreach ($row in $script:Prerequisites) { [pscustomobject]$row }
}

function Test-PrerequisiteEffect {
    <#
    .SYNOPSIS
    True when the prerequisite's effect is there: the command resolves or the file exists.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param([Parameter(Mandatory, ValueFromPipeline)] [psobject] $Prerequisite)
    process {
        switch ($Prerequisite.Kind) {
            'File' { Test-Path -LiteralPath $Prerequisite.Effect -PathType Leaf }
            'Command' {
                [bool](Get-Command -CommandType Application -Name $Prerequisite.Effect -ErrorAction Ignore) -or
                (Test-Path -LiteralPath "/usr/sbin/$($Prerequisite.Effect)") -or
                (Test-Path -LiteralPath "/sbin/$($Prerequisite.Effect)")
            }
            default { throw "Unknown prerequisite kind '$($Prerequisite.Kind)'" }
        }
    }
}

function Get-MissingPrerequisite {
    <#
    .SYNOPSIS
    The prerequisites whose effect is not there.
    #>
    [CmdletBinding()]
    param([psobject[]] $Prerequisite = @(Get-KgdbOePrerequisite))
    $Prerequisite | Where-Object { -not (Test-PrerequisiteEffect $_) }
}

function ConvertFrom-DpkgStatus {
    <#
    .SYNOPSIS
    Whether `dpkg-query -W -f '${Status}' NAME` says the package is installed.

    .DESCRIPTION
    Only the exact status "install ok installed" counts. dpkg prints nothing (exit 1) for a package it
    never heard of, "unknown ok not-installed" for one it knows but never installed, and
    "deinstall ok config-files" for one removed: all three are "not installed". Used for reports only;
    Bootstrap decides by effect (Test-PrerequisiteEffect).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param([AllowNull()] [AllowEmptyString()] [string] $Status, [int] $ExitCode = 0)
    $ExitCode -eq 0 -and $null -ne $Status -and $Status.Trim() -ceq 'install ok installed'
}

function Test-DebianPackageInstalled {
    <#
    .SYNOPSIS
    Asks dpkg whether one package is installed (see ConvertFrom-DpkgStatus for what counts).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param([Parameter(Mandatory)] [string] $Name)
    $status = (& dpkg-query -W -f '${Status}' $Name 2>$null) -join ''
    ConvertFrom-DpkgStatus -Status $status -ExitCode $LASTEXITCODE
}

function Install-KgdbOePrerequisite {
    <#
    .SYNOPSIS
    Installs the Debian packages whose effects are missing, then checks every effect again.

    .DESCRIPTION
    Throws, naming each missing command or file and its package, when an effect is still missing
    after apt-get, or when packages are missing and this is not root on Debian.
    #>
    [CmdletBinding()]
    param([psobject[]] $Prerequisite = @(Get-KgdbOePrerequisite))
    $missing = @(Get-MissingPrerequisite -Prerequisite $Prerequisite)
    if ($missing.Count -gt 0) {
        $packages = @($missing.Package | Select-Object -Unique)
        $isDebian = Test-Path /etc/debian_version
        $isRoot = (& id -u) -eq '0'
        if (-not ($isDebian -and $isRoot)) {
            throw "Missing: $(Format-MissingPrerequisite $missing). Install them (apt-get install $($packages -join ' ')) or run Bootstrap as root on Debian."
        }
        Write-Host "bootstrap: apt-get install $($packages -join ' ')"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get update -q | Out-Null
        if ($LASTEXITCODE -ne 0) { Write-Warning "apt-get update failed (exit $LASTEXITCODE); trying the install with the lists there are" }
        $log = & apt-get install -y -q @packages 2>&1
        if ($LASTEXITCODE -ne 0) { Write-Host ($log | Select-Object -Last 15 | Out-String) }
    }
    $still = @(Get-MissingPrerequisite -Prerequisite $Prerequisite)
    if ($still.Count -gt 0) {
        throw "bootstrap: still missing after apt-get: $(Format-MissingPrerequisite $still)"
    }
}

function Format-MissingPrerequisite([psobject[]] $Missing) {
    ($Missing | ForEach-Object { "$($_.Effect) (package $($_.Package), for $($_.For))" }) -join '; '
}

Export-ModuleMember -Function Get-KgdbOePrerequisite, Test-PrerequisiteEffect, Get-MissingPrerequisite,
    ConvertFrom-DpkgStatus, Test-DebianPackageInstalled, Install-KgdbOePrerequisite
