<#
.SYNOPSIS
Soak test: stock gdb hits and continues a kernel breakpoint N times through kgdboe.

.DESCRIPTION
In a running lab with kgdboe loaded: starts /bin/workload (getppid in a loop) on CPU 0,
optionally a host-to-guest TCP stream over SSH received on CPU 1 (-Load, same NIC), then runs
gdb -batch: target remote udp:127.0.0.1:<DebugPort>, a breakpoint on __x64_sys_getppid at its
runtime address (KASLR), then `ignore 1 999` + continue per 1000 hits (fewer for the last). gdb
stops at every 1000th hit, so its own hit count says whether every hit came through; then it
detaches. Returns an object with Count,
Hits, Seconds, PerSecond, GuestAlive and the gdb output.

.EXAMPLE
tests/module/gdb-soak.ps1 -LabName mod-612-e1000 -Count 20000 -Load

.EXAMPLE
tests/module/gdb-soak.ps1 -LabName mod-61-e1000 -Count 1000 -Load -GdbSetup 'set remotetimeout 30'
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory, ParameterSetName = 'Name')] [string] $LabName,
    [Parameter(Mandatory, ParameterSetName = 'Lab')] $Lab,
    [int] $Count = 200,
    [switch] $Load,
    [int] $TimeoutSeconds = 0,
    # gdb commands run before `target remote` (e.g. 'set remotetimeout 30', 'set debug remote 1').
    [string[]] $GdbSetup = @()
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')

if ($LabName) {
    $Lab = Get-KgdbOeLab -Name $LabName
    if (-not $Lab) { throw "gdb-soak: no running lab named '$LabName'" }
}
if ($Count -lt 1) { throw 'gdb-soak: -Count must be at least 1' }
if (-not $TimeoutSeconds) { $TimeoutSeconds = 120 + [int]($Count / 10) }

function Invoke-Guest([string] $Command) { Invoke-LabSshCommand -Lab $Lab -Command $Command }

$line = Invoke-Guest "grep ' __x64_sys_getppid`$' /proc/kallsyms"
$address = '0x' + ($line -split '\s+')[0]
if ($address -notmatch '^0x[0-9a-f]{16}$') { throw "gdb-soak: no __x64_sys_getppid in kallsyms: $line" }

$work = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "kgdboe-soak-$PID-$(Get-Random)")
$script = Join-Path $work 'soak.gdb'
$gdbLog = Join-Path $work 'gdb.log'
# In chunks of up to 1000 hits, so gdb.log shows progress ("already hit N times") as it goes.
$chunks = for ($done = 0; $done -lt $Count; $done += $chunk) {
    $chunk = [math]::Min(1000, $Count - $done)
    if ($chunk -gt 1) { "ignore 1 $($chunk - 1)" }
    'continue', 'info breakpoints'
}
@(
    'set pagination off', 'set confirm off', 'set architecture i386:x86-64'
    $GdbSetup
    "target remote udp:127.0.0.1:$($Lab.DebugPort)"
    "break *$address"
    $chunks
    'delete', 'detach'
) | Set-Content $script

$loadProcess = $null
try {
    Invoke-Guest 'setsid taskset 1 workload 0 100 </dev/null >/dev/null 2>&1 & echo $! > /tmp/soak-workload.pid' | Out-Null
    if ($Load) {
        # Endless host->guest TCP stream through the same NIC, received on CPU 1 (CPU 0 on a 1-CPU guest).
        $loadMask = if ($Lab.Cpus -gt 1) { 2 } else { 1 }
        $sshArgs = "-i '$($Lab.KeyPath)' -p $($Lab.SshPort) -o UserKnownHostsFile='$($Lab.KnownHostsPath)' " +
            "-o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 'taskset $loadMask cat > /dev/null'"
        $loadProcess = Start-Process bash -ArgumentList '-c', "exec ssh $sshArgs < /dev/zero" -PassThru `
            -RedirectStandardError (Join-Path $work 'load.err')
        Start-Sleep -Seconds 1
    }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $gdb = Start-Process gdb -ArgumentList '-nx', '-batch', '-x', $script -PassThru `
        -RedirectStandardOutput $gdbLog -RedirectStandardError (Join-Path $work 'gdb.err')
    if (-not $gdb.WaitForExit($TimeoutSeconds * 1000)) {
        Stop-Process -Id $gdb.Id -Force
        throw "gdb-soak: gdb did not finish $Count hits within $TimeoutSeconds s; log: $(Get-Content -Raw $gdbLog)"
    }
    $gdb.WaitForExit()  # the redirected output is copied asynchronously; this waits for it
    $watch.Stop()
    $output = (Get-Content -Raw $gdbLog) + (Get-Content -Raw (Join-Path $work 'gdb.err'))
} finally {
    if ($loadProcess -and -not $loadProcess.HasExited) { Stop-Process -Id $loadProcess.Id -Force }
    Invoke-LabSshCommand -Lab $Lab -Command 'kill $(cat /tmp/soak-workload.pid) 2>/dev/null; rm -f /tmp/soak-workload.pid' -AllowFailure | Out-Null
}

$counts = [regex]::Matches($output, 'breakpoint already hit (\d+) time') | ForEach-Object { [int]$_.Groups[1].Value }
$hits = if ($counts) { ($counts | Measure-Object -Maximum).Maximum } else { 0 }
$alive = (Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure) -eq 'alive'
Remove-Item -Recurse -Force $work
[pscustomobject]@{
    Count = $Count; Hits = $hits; Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 2)
    PerSecond = [math]::Round($hits / [math]::Max($watch.Elapsed.TotalSeconds, 0.001), 1)
    Load = [bool]$Load; GuestAlive = $alive; GdbOutput = $output
}
