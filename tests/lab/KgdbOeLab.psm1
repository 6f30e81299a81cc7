# KgdbOeLab: boots the project's own KGDB kernel under QEMU (TCG) and tells how to reach it.
#
# A lab is one QEMU process with user networking. Every host forward is bound to 127.0.0.1:
# SSH (tcp) and the debugger's UDP port; QEMU's own gdbstub optionally. Its state lives in
# <cache>/labs/<name>/state.json so other processes (xunit, gdb scripts) can find it.
Set-StrictMode -Version Latest

$script:LabDir = $PSScriptRoot
$script:GuestDebugPort = 31337
$script:KnownKernels = '6.1', '6.12'
$script:NicDevices = @{
    'e1000' = 'e1000'; 'e1000e' = 'e1000e'; 'virtio-net' = 'virtio-net-pci'
    'vmxnet3' = 'vmxnet3'; 'pcnet' = 'pcnet'; 'rtl8139' = 'rtl8139'
}

function Get-LabCacheRoot {
    if ($env:KGDBOE_CACHE) { return $env:KGDBOE_CACHE }
    Join-Path $HOME '.cache/kgdboe'
}

function Get-LabKernelFolder([string] $Series) {
    # KGDBOE_KERNEL_DIR_6_12 / KGDBOE_KERNEL_DIR_6_1: a lab kernel folder already built (another
    # cache key, e.g. the previous config while the current one builds), used as it is.
    $override = [Environment]::GetEnvironmentVariable('KGDBOE_KERNEL_DIR_' + $Series.Replace('.', '_'))
    if ($override) {
        if (-not (Test-Path (Join-Path $override 'bzImage'))) { throw "lab: KGDBOE_KERNEL_DIR_$($Series.Replace('.', '_'))=$override has no bzImage" }
        return $override
    }
    Invoke-LabBuildScript 'build-kernel.sh' @($Series)
}

function Get-LabStateDir([string] $Name) { Join-Path (Get-LabCacheRoot) "labs/$Name" }

function Invoke-LabBuildScript([string] $Script, [string[]] $Arguments) {
    # The build scripts print progress to stderr and the cache folder as their last stdout line.
    $output = & bash (Join-Path $script:LabDir $Script) @Arguments
    if ($LASTEXITCODE -ne 0) { throw "lab: $Script $Arguments failed (exit $LASTEXITCODE)" }
    @($output)[-1]
}

function Test-TcpPortFree([int] $Port) {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
    try { $listener.Start(); $true } catch { $false } finally { $listener.Stop() }
}

function Test-UdpPortFree([int] $Port) {
    try {
        $client = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, $Port))
        $client.Dispose(); $true
    } catch { $false }
}

function Get-FreePort([ValidateSet('Tcp', 'Udp')] [string] $Protocol, [int[]] $Exclude = @()) {
    # Let the OS choose a free ephemeral port; QEMU binds it a moment later. A clash in between
    # shows up as QEMU failing to start, and Start-KgdbOeLab then retries with new ports.
    for ($i = 0; $i -lt 20; $i++) {
        if ($Protocol -eq 'Tcp') {
            $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        } else {
            $u = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
            $port = $u.Client.LocalEndPoint.Port; $u.Dispose()
        }
        if ($port -notin $Exclude) { return $port }
    }
    throw 'lab: no free port found'
}

function Invoke-LabSshCommand {
    <#
    .SYNOPSIS
    Runs a command in a lab guest over SSH (the lab key, the lab's known_hosts) and returns stdout.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Lab,
        [Parameter(Mandatory)] [string] $Command,
        [string] $InputFile,
        [int] $ConnectTimeout = 10,
        [switch] $AllowFailure
    )
    $sshArgs = @(
        '-i', $Lab.KeyPath, '-p', $Lab.SshPort,
        '-o', "UserKnownHostsFile=$($Lab.KnownHostsPath)", '-o', 'StrictHostKeyChecking=yes',
        '-o', 'BatchMode=yes', '-o', "ConnectTimeout=$ConnectTimeout", '-o', 'LogLevel=ERROR',
        'root@127.0.0.1', $Command)
    if ($InputFile) {
        $output = Get-Content -AsByteStream -Raw -LiteralPath $InputFile | & ssh @sshArgs
        # Piping bytes through PowerShell is slow for big files; use the shell for those.
    } else {
        $output = & ssh @sshArgs
    }
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) {
        throw "lab $($Lab.Name): ssh '$Command' exited $LASTEXITCODE"
    }
    $output -join "`n"
}

function Send-LabFile {
    <#
    .SYNOPSIS
    Copies a host file into a lab guest through the stdin of `cat` (works without sftp/scp).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Destination)
    $quoted = "'" + $Destination.Replace("'", "'\''") + "'"
    & bash -c 'exec ssh -i "$1" -p "$2" -o UserKnownHostsFile="$3" -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 "cat > $5" < "$4"' `
        _ $Lab.KeyPath $Lab.SshPort $Lab.KnownHostsPath $Path $quoted
    if ($LASTEXITCODE -ne 0) { throw "lab $($Lab.Name): upload of $Path failed" }
}

function Get-KgdbOeLab {
    <#
    .SYNOPSIS
    Lists labs whose QEMU is still running (or the one named).
    #>
    [CmdletBinding()]
    param([string] $Name = '*')
    $labsRoot = Join-Path (Get-LabCacheRoot) 'labs'
    if (-not (Test-Path $labsRoot)) { return }
    foreach ($dir in Get-ChildItem -Directory $labsRoot -Filter $Name) {
        $statePath = Join-Path $dir.FullName 'state.json'
        if (-not (Test-Path $statePath)) { continue }
        $state = Get-Content -Raw $statePath | ConvertFrom-Json
        if (Test-LabProcess $state) { $state }
    }
}

function Test-LabProcess($State) {
    # The pid must still be this lab's QEMU, not a recycled pid.
    $cmdline = "/proc/$($State.Pid)/cmdline"
    (Test-Path $cmdline) -and ((Get-Content -Raw $cmdline) -match [regex]::Escape("kgdboe-lab-$($State.Name)"))
}

function Start-KgdbOeLab {
    <#
    .SYNOPSIS
    Boots a lab VM (kernel 6.12 or 6.1, or 'stock': Debian's own kernel, without KGDB) and returns
    how to reach it once SSH answers.
    .DESCRIPTION
    Builds (or takes from the cache) the lab kernel and initramfs, picks free loopback ports unless
    given, starts QEMU in TCG with the serial console captured to a log, waits for SSH and writes
    the lab's state file. A lab of the same name that is still running is returned as it is.
    #>
    [CmdletBinding()]
    param(
        [string] $Name = 'default',
        [string] $Kernel = '6.12',
        [ValidateSet(1, 2, 4)] [int] $Cpus = 2,
        [int] $MemoryMB = 512,
        [string] $Nic = 'e1000',
        [switch] $GdbStub,
        [switch] $NoKaslr,
        [int] $SshPort = 0,
        [int] $DebugPort = 0,
        [int] $GdbPort = 0,
        [string] $ExtraAppend = '',
        [string] $RootDisk,
        [string] $QemuPath = 'qemu-system-x86_64',
        [int] $TimeoutSeconds = 240
    )
    # '<series>-unpatched': the lab kernel without tests/lab/patches/, as users have KGDB (its own cache folder).
    $series = $Kernel -replace '-unpatched$', ''
    if ($series -notin $script:KnownKernels -and $Kernel -ne 'stock') {
        throw "lab: unknown kernel version '$Kernel' (known: $($script:KnownKernels -join ', '), each also as <version>-unpatched, stock)"
    }
    if (-not $script:NicDevices.ContainsKey($Nic)) {
        throw "lab: unknown NIC model '$Nic' (known: $($script:NicDevices.Keys -join ', '))"
    }
    if (-not (Get-Command $QemuPath -ErrorAction Ignore)) {
        throw "lab: QEMU not found ('$QemuPath'); install qemu-system-x86 (build.ps1 Bootstrap)"
    }
    foreach ($p in @(@{ N = 'SshPort'; V = $SshPort; T = 'Tcp' }, @{ N = 'GdbPort'; V = $GdbPort; T = 'Tcp' }, @{ N = 'DebugPort'; V = $DebugPort; T = 'Udp' })) {
        if ($p.V -ne 0) {
            $free = if ($p.T -eq 'Tcp') { Test-TcpPortFree $p.V } else { Test-UdpPortFree $p.V }
            if (-not $free) { throw "lab: $($p.N) $($p.V) is already in use on 127.0.0.1" }
        }
    }
    $running = Get-KgdbOeLab -Name $Name
    if ($running) { return $running }

    $initrdDir = Invoke-LabBuildScript 'build-initramfs.sh' @()
    $kernelDir = if ($Kernel -eq 'stock') { Invoke-LabBuildScript 'fetch-stock-kernel.sh' @() }
    elseif ($Kernel -ne $series) {
        $env:KGDBOE_KERNEL_PATCHES = 'none'
        try { Invoke-LabBuildScript 'build-kernel.sh' @($series) } finally { Remove-Item Env:KGDBOE_KERNEL_PATCHES }
    } else { Get-LabKernelFolder $Kernel }
    # The stock kernel's initramfs is the lab's plus its NIC driver.
    $initramfs = if ($Kernel -eq 'stock') { Join-Path $kernelDir 'initramfs.cpio.gz' } else { Join-Path $initrdDir 'initramfs.cpio.gz' }
    $stateDir = Get-LabStateDir $Name
    New-Item -ItemType Directory -Force $stateDir | Out-Null
    Remove-Item -Force -ErrorAction Ignore (Join-Path $stateDir '*')

    $append = "console=ttyS0 loglevel=6 panic=0 $(if ($NoKaslr) { 'nokaslr' }) $ExtraAppend".Trim()
    $consoleLog = Join-Path $stateDir 'console.log'
    $pidFile = Join-Path $stateDir 'qemu.pid'
    for ($attempt = 1; ; $attempt++) {
        $ssh = if ($SshPort) { $SshPort } else { Get-FreePort Tcp }
        $dbg = if ($DebugPort) { $DebugPort } else { Get-FreePort Udp }
        $gdb = if (-not $GdbStub) { $null } elseif ($GdbPort) { $GdbPort } else { Get-FreePort Tcp -Exclude $ssh }
        $netdev = "user,id=n0,restrict=off,hostfwd=tcp:127.0.0.1:${ssh}-:22,hostfwd=udp:127.0.0.1:${dbg}-:$($script:GuestDebugPort)"
        $qemuArgs = @(
            '-name', "kgdboe-lab-$Name", '-accel', 'tcg', '-smp', $Cpus, '-m', "${MemoryMB}M",
            '-kernel', (Join-Path $kernelDir 'bzImage'), '-append', $append,
            '-netdev', $netdev, '-device', "$($script:NicDevices[$Nic]),netdev=n0",
            '-display', 'none', '-monitor', 'none', '-serial', "file:$consoleLog",
            '-no-reboot', '-daemonize', '-pidfile', $pidFile)
        if ($RootDisk) {
            $qemuArgs += '-drive', "file=$RootDisk,if=virtio,format=raw"
        } else {
            $qemuArgs += '-initrd', $initramfs
        }
        if ($gdb) { $qemuArgs += '-gdb', "tcp:127.0.0.1:$gdb" }
        $err = & $QemuPath @qemuArgs 2>&1
        if ($LASTEXITCODE -eq 0) { break }
        $explicitPorts = $SshPort -or $DebugPort -or $GdbPort
        if ($attempt -ge 3 -or $explicitPorts -or "$err" -notmatch 'host forwarding|Address already in use|Failed to bind') {
            throw "lab: QEMU failed to start: $err"
        }
    }
    $qemuPid = [int](Get-Content $pidFile)
    $knownHosts = Join-Path $stateDir 'known_hosts'
    "[127.0.0.1]:$ssh $(Get-Content (Join-Path $initrdDir 'host_key.pub'))" | Set-Content $knownHosts

    $state = [pscustomobject]@{
        Name = $Name; Pid = $qemuPid; Kernel = $Kernel
        KernelRelease = (Get-Content (Join-Path $kernelDir 'kernelrelease')).Trim()
        Nic = $Nic; Cpus = $Cpus; Kaslr = -not $NoKaslr
        SshPort = $ssh; DebugPort = $dbg; GdbPort = $gdb; GuestDebugPort = $script:GuestDebugPort
        GuestIp = '10.0.2.15'
        KeyPath = Join-Path $initrdDir 'id_ed25519'; KnownHostsPath = $knownHosts
        SystemMap = Join-Path $kernelDir 'System.map'; Vmlinux = Join-Path $kernelDir 'vmlinux'
        Kdir = Join-Path $kernelDir 'src'; ConsoleLog = $consoleLog; StateDir = $stateDir
        StatePath = Join-Path $stateDir 'state.json'
    }
    # The key must not be readable by others or ssh refuses it.
    & chmod 600 $state.KeyPath
    # Written before the wait, so Stop-KgdbOeLab finds a lab whose boot was interrupted.
    $state | ConvertTo-Json | Set-Content $state.StatePath

    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        if (-not (Test-LabProcess $state)) {
            Remove-Item -Force $state.StatePath
            throw "lab ${Name}: QEMU exited during boot; console: $(Get-LabConsoleTail $consoleLog)"
        }
        $null = Invoke-LabSshCommand -Lab $state -Command 'true' -ConnectTimeout 5 -AllowFailure 2>$null
        if ($LASTEXITCODE -eq 0) { break }
        $panicked = (Test-Path $consoleLog) -and (Select-String -Quiet -Pattern 'Kernel panic' -LiteralPath $consoleLog)
        if ($panicked -or [DateTime]::UtcNow -gt $deadline) {
            Stop-LabProcess $state; Remove-Item -Force $state.StatePath
            $why = if ($panicked) { 'the kernel panicked' } else { "SSH did not answer within $TimeoutSeconds s" }
            throw "lab ${Name}: $why; console: $(Get-LabConsoleTail $consoleLog)"
        }
        Start-Sleep -Milliseconds 500
    }
    $state
}

function Get-LabConsoleTail([string] $Path) {
    if (Test-Path $Path) { (Get-Content $Path -Tail 15) -join "`n" } else { '(no console log)' }
}

function Stop-LabProcess($State) {
    if (Test-LabProcess $State) {
        Stop-Process -Id $State.Pid -Force -ErrorAction Ignore
        for ($i = 0; $i -lt 50 -and (Test-LabProcess $State); $i++) { Start-Sleep -Milliseconds 100 }
    }
}

function Stop-KgdbOeLab {
    <#
    .SYNOPSIS
    Stops a lab's QEMU, by its pid, and removes its state file.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(ValueFromPipelineByPropertyName)] [string] $Name = 'default')
    process {
        $statePath = Join-Path (Get-LabStateDir $Name) 'state.json'
        if (-not (Test-Path $statePath)) { return }
        $state = Get-Content -Raw $statePath | ConvertFrom-Json
        if ($PSCmdlet.ShouldProcess("lab $Name (pid $($state.Pid))", 'Stop')) {
            Stop-LabProcess $state
            Remove-Item -Force $statePath
        }
    }
}

Export-ModuleMember -Function Start-KgdbOeLab, Stop-KgdbOeLab, Get-KgdbOeLab, Invoke-LabSshCommand, Send-LabFile
