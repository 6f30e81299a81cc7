# Shared lab fixture for Pester suites: dot-source it in BeforeAll.
#
# Labs are named after their shape (test-<kernel>-<nic>-<cpus>[-gdb]) and reused by every test
# file of one run; build.ps1 Test stops all test-* labs at the end. A test that changes a
# guest's state (loaded module, CPUs offline) must put it back.
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1') -Force

function Get-TestLab {
    [CmdletBinding()]
    param(
        [string] $Kernel = '6.12',
        [string] $Nic = 'e1000',
        [int] $Cpus = 2,
        [switch] $GdbStub,
        [switch] $NoKaslr,
        # 0: the lab's default memory; another size names the lab test-...-<n>m.
        [int] $MemoryMB = 0,
        [string] $Name
    )
    if (-not $Name) {
        # KGDBOE_TEST_LAB_PREFIX (default "test"): labs of a run of one's own beside another's.
        $prefix = if ($env:KGDBOE_TEST_LAB_PREFIX) { $env:KGDBOE_TEST_LAB_PREFIX } else { 'test' }
        $Name = "$prefix-$Kernel-$Nic-$Cpus$(if ($GdbStub) { '-gdb' })$(if ($NoKaslr) { '-nokaslr' })$(if ($MemoryMB) { "-${MemoryMB}m" })"
    }
    if ($env:KGDBOE_MAX_TEST_LABS -and -not (Get-KgdbOeLab -Name $Name)) {
        Stop-IdleTestLab -Keep ([int]$env:KGDBOE_MAX_TEST_LABS)
    }
    $memory = if ($MemoryMB) { @{ MemoryMB = $MemoryMB } } else { @{} }
    $lab = Start-KgdbOeLab -Name $Name -Kernel $Kernel -Nic $Nic -Cpus $Cpus -GdbStub:$GdbStub -NoKaslr:$NoKaslr @memory
    Set-Content -LiteralPath (Join-Path $lab.StateDir 'last-used') -Value ([DateTime]::UtcNow.ToString('o'))
    $lab
}

# Idle TCG guests still cost CPU on a 2-core machine: build.ps1 Test sets KGDBOE_MAX_TEST_LABS
# so that only the most recently used few keep running (one test run owns the test-* labs then).
function Stop-IdleTestLab([int] $Keep) {
    $prefix = if ($env:KGDBOE_TEST_LAB_PREFIX) { $env:KGDBOE_TEST_LAB_PREFIX } else { 'test' }
    $running = @(Get-KgdbOeLab -Name "$prefix-*" | Sort-Object {
            $stamp = Join-Path $_.StateDir 'last-used'
            if (Test-Path $stamp) { (Get-Item $stamp).LastWriteTimeUtc } else { [DateTime]::MinValue }
        })
    $excess = $running.Count - ($Keep - 1)
    if ($excess -gt 0) { $running | Select-Object -First $excess | Stop-KgdbOeLab }
}

function Invoke-LabSsh {
    # Runs a guest command and returns its stdout; throws on a non-zero exit.
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $Command, [string] $InputFile)
    if ($InputFile) {
        $quoted = "'" + $Command.Replace("'", "'\''") + "'"
        $out = & bash -c "exec ssh -i `"`$1`" -p `"`$2`" -o UserKnownHostsFile=`"`$3`" -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 $quoted < `"`$4`"" `
            _ $Lab.KeyPath $Lab.SshPort $Lab.KnownHostsPath $InputFile
        if ($LASTEXITCODE -ne 0) { throw "lab $($Lab.Name): '$Command' exited $LASTEXITCODE" }
        return ($out -join "`n")
    }
    Invoke-LabSshCommand -Lab $Lab -Command $Command
}

function Get-LabKernelModule {
    # The kgdboe.ko that build.ps1 built for this lab's kernel (KGDBOE_KO_6_12 / KGDBOE_KO_6_1),
    # or a fresh build into a temporary folder when run outside build.ps1.
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Lab)
    $var = 'KGDBOE_KO_' + $Lab.Kernel.Replace('.', '_')
    $ko = [Environment]::GetEnvironmentVariable($var)
    if ($ko -and (Test-Path $ko)) { return $ko }
    # A folder of this process's own: parallel sessions must not share objects.
    $buildDir = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-ko-$($Lab.Kernel)-$PID"
    if (Test-Path $buildDir) { Remove-Item -Recurse -Force $buildDir }
    New-Item -ItemType Directory $buildDir | Out-Null
    Copy-Item (Join-Path $PSScriptRoot '../../module-c/*') $buildDir -Recurse
    $log = & make -s -C $buildDir "KDIR=$($Lab.Kdir)" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "kgdboe.ko failed to build for $($Lab.Kernel): $log" }
    $ko = Join-Path $buildDir 'kgdboe.ko'
    [Environment]::SetEnvironmentVariable($var, $ko)
    $ko
}

function Import-KgdbOeTestModule {
    # Imports the built module and returns its folder: $env:KGDBOE_MODULE_DIR, else the package
    # build.ps1 makes (out/KgdbOe), else the folder `dotnet build src/KgdbOe.PowerShell` lays out.
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $dir = @(
        $env:KGDBOE_MODULE_DIR
        Join-Path $repo 'out/KgdbOe'
        Join-Path $repo 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe'
    ) | Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
    if (-not $dir) { throw 'No built KgdbOe module folder: run build.ps1 Build or dotnet build src/KgdbOe.PowerShell.' }
    Import-Module (Join-Path $dir 'KgdbOe.psd1') -Force -Global
    $dir
}

# Runs a command with errors made terminating and returns the error record (or $null).
function Get-CommandError([scriptblock] $Command) {
    $ErrorActionPreference = 'Stop'
    try { $null = & $Command; $null } catch { $_ }
}

# The stable part of an error's id ("KgdbOe.TypeNotFound"), without the cmdlet's name.
function Get-ErrorIdOf($ErrorRecord) { "$($ErrorRecord.FullyQualifiedErrorId)".Split(',')[0] }

# A symbol's run-time address (after KASLR), from the guest's own /proc/kallsyms.
function Get-LabRuntimeAddress($Lab, [string] $Symbol) {
    $line = Invoke-LabSsh -Lab $Lab -Command "grep ' $Symbol`$' /proc/kallsyms"
    [Convert]::ToUInt64(($line -split '\s+')[0], 16)
}

# Stock gdb in batch mode (-nx, x86-64), each command an -ex; returns ExitCode and Output (stdout
# then stderr). Throws when gdb does not finish within the timeout (and kills it).
function Invoke-StockGdb([string[]] $Commands, [int] $TimeoutSeconds = 120) {
    $arguments = @('-nx', '-batch', '-ex', 'set architecture i386:x86-64')
    foreach ($c in $Commands) { $arguments += '-ex', $c }
    $out = New-TemporaryFile
    $err = New-TemporaryFile
    try {
        $gdb = Start-Process gdb -ArgumentList ($arguments | ForEach-Object { "`"$_`"" }) -PassThru `
            -RedirectStandardOutput $out -RedirectStandardError $err
        if (-not $gdb.WaitForExit($TimeoutSeconds * 1000)) {
            Stop-Process -Id $gdb.Id -Force
            throw "gdb did not finish within $TimeoutSeconds s: $(Get-Content -Raw $out)"
        }
        # Start-Process copies the redirected output asynchronously; only the untimed
        # WaitForExit() waits for that copy to finish.
        $gdb.WaitForExit()
        [pscustomobject]@{ ExitCode = $gdb.ExitCode; Output = (Get-Content -Raw $out) + (Get-Content -Raw $err) }
    } finally { Remove-Item $out, $err -ErrorAction Ignore }
}
