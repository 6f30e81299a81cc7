# The Debian build guest: the lab kernel booted from a debootstrap disk that has make, gcc, the
# kernel's headers and real OpenSSH, for testing kgdboe's build on the target. It is a lab like
# the busybox one (same launcher, same key, same known_hosts, same ports and state file); only the
# root file system differs.
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../KgdbOeLab.psm1')

function Get-DebianGuestDiskCopy([string] $Name) {
    # Outside the lab's state folder, which the launcher empties on start.
    $cache = if ($env:KGDBOE_CACHE) { $env:KGDBOE_CACHE } else { Join-Path $HOME '.cache/kgdboe' }
    Join-Path $cache "labs/$Name.disk.img"
}

function Start-DebianGuest {
    <#
    .SYNOPSIS
    Boots the Debian build guest with a lab kernel and returns the lab state (as Start-KgdbOeLab).
    .DESCRIPTION
    Builds (or takes from the cache) the disk image for the kernel, boots a private copy of it so
    the cached image stays pristine, and waits for SSH. The first image build downloads Debian
    packages (~1-2 minutes) and the kernel headers are copied in (~1 minute).
    #>
    [CmdletBinding()]
    param(
        [string] $Name = 'deploy-debian',
        [string] $Kernel = '6.12',
        [ValidateSet(1, 2, 4)] [int] $Cpus = 2,
        [string] $Nic = 'e1000',
        [int] $MemoryMB = 1024,
        [int] $TimeoutSeconds = 300
    )
    $running = Get-KgdbOeLab -Name $Name
    if ($running) { return $running }

    $imageDir = @(& bash (Join-Path $PSScriptRoot 'build-image.sh') $Kernel)[-1]
    if ($LASTEXITCODE -ne 0) { throw "debian guest: build-image.sh $Kernel failed (exit $LASTEXITCODE)" }
    $disk = Get-DebianGuestDiskCopy $Name
    New-Item -ItemType Directory -Force (Split-Path $disk) | Out-Null
    & cp --sparse=always (Join-Path $imageDir 'disk.img') $disk
    if ($LASTEXITCODE -ne 0) { throw "debian guest: cannot copy the disk image to $disk" }

    Start-KgdbOeLab -Name $Name -Kernel $Kernel -Cpus $Cpus -Nic $Nic -MemoryMB $MemoryMB -TimeoutSeconds $TimeoutSeconds `
        -RootDisk $disk -ExtraAppend 'root=/dev/vda rw init=/sbin/kgdboe-init'
}

function Stop-DebianGuest {
    <#
    .SYNOPSIS
    Stops the Debian build guest and deletes its disk copy.
    #>
    [CmdletBinding()]
    param([string] $Name = 'deploy-debian')
    Stop-KgdbOeLab -Name $Name
    Remove-Item -Force -ErrorAction Ignore (Get-DebianGuestDiskCopy $Name)
}

Export-ModuleMember -Function Start-DebianGuest, Stop-DebianGuest
