# BenchLab: what the benchmark and the soak share — a lab guest with kgdboe loaded, guest
# workload and network load, the client package, the fault-injecting proxy, medians and the
# machine description that goes with every figure.
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')

function Start-BenchLab {
    <#
    .SYNOPSIS
    Boots (or reuses) a 2-CPU e1000 lab, uploads kgdboe.ko, loads it and waits for its ready line.
    #>
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $KernelModule,
        [string] $Kernel = '6.12',
        [string] $Nic = 'e1000',
        [int] $Cpus = 2,
        # 64 hex digits: load kgdboe keyed (the v2 wire); the key goes in on stdin, never a command line.
        [string] $KeyHex,
        # 0: the lab's default guest memory.
        [int] $MemoryMB = 0
    )
    if (-not (Test-Path $KernelModule)) { throw "bench: kernel module '$KernelModule' not found" }
    $memory = if ($MemoryMB) { @{ MemoryMB = $MemoryMB } } else { @{} }
    $lab = Start-KgdbOeLab -Name $Name -Kernel $Kernel -Cpus $Cpus -Nic $Nic @memory
    $loaded = Invoke-LabSshCommand -Lab $lab -Command 'grep -c "^kgdboe " /proc/modules' -AllowFailure
    if ($KeyHex -and $loaded -eq '1') {
        Invoke-LabSshCommand -Lab $lab -Command 'rmmod kgdboe' | Out-Null
        $loaded = '0'
    }
    if ($loaded -ne '1') {
        Send-LabFile -Lab $lab -Path $KernelModule -Destination /tmp/kgdboe.ko
        if ($KeyHex) {
            $keyFile = New-TemporaryFile
            try {
                Set-Content -LiteralPath $keyFile -Value $KeyHex
                Invoke-LabSshCommand -Lab $lab -Command 'IFS= read -r k && insmod /tmp/kgdboe.ko "key=$k"' -InputFile $keyFile | Out-Null
            } finally { Remove-Item -LiteralPath $keyFile -Force }
        } else {
            Invoke-LabSshCommand -Lab $lab -Command 'insmod /tmp/kgdboe.ko' | Out-Null
        }
    }
    # The module's own parser of the ready line (Import-KgdbOePackage ran before this).
    $ready = [KgdbOe.PowerShell.Deployment.ReadyLine]::FindIn((Invoke-LabSshCommand -Lab $lab -Command 'dmesg'))
    if (-not $ready) { throw "bench: kgdboe did not say it is ready in lab $Name" }
    $lab | Add-Member -NotePropertyName KgdboeReady -NotePropertyValue $ready.Text -PassThru
}

function Get-GuestSymbol {
    # Run-time addresses (KASLR) straight from the guest's /proc/kallsyms.
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string[]] $Name)
    $pattern = ($Name | ForEach-Object { [regex]::Escape($_) }) -join '|'
    $lines = Invoke-LabSshCommand -Lab $Lab -Command "grep -E ' ($pattern)`$' /proc/kallsyms"
    $found = @{}
    foreach ($line in $lines -split "`n") {
        $f = $line -split '\s+'
        if ($f.Count -ge 3) { $found[$f[2]] = [Convert]::ToUInt64($f[0], 16) }
    }
    foreach ($n in $Name) { if (-not $found.ContainsKey($n)) { throw "bench: no '$n' in the guest's /proc/kallsyms" } }
    $found
}

function Start-GuestWorkload {
    # getppid() in a loop on CPU 0: the breakpoint target.
    param([Parameter(Mandatory)] $Lab)
    Invoke-LabSshCommand -Lab $Lab -Command 'setsid taskset 1 workload 0 </dev/null >/dev/null 2>&1 & echo $! > /tmp/bench-workload.pid' | Out-Null
}

function Stop-GuestWorkload {
    param([Parameter(Mandatory)] $Lab)
    Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command 'kill $(cat /tmp/bench-workload.pid 2>/dev/null) 2>/dev/null; rm -f /tmp/bench-workload.pid' | Out-Null
}

function Start-NetworkLoad {
    <#
    .SYNOPSIS
    An endless host->guest TCP stream over SSH through the lab NIC, received on guest CPU 1.
    #>
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $LogPath)
    $ssh = "ssh -i '$($Lab.KeyPath)' -p $($Lab.SshPort) -o UserKnownHostsFile='$($Lab.KnownHostsPath)' " +
        "-o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR -o ServerAliveInterval=0 " +
        "root@127.0.0.1 'taskset 2 cat > /dev/null'"
    Start-Process bash -ArgumentList '-c', "exec $ssh < /dev/zero" -PassThru -RedirectStandardError $LogPath
}

function Stop-OwnProcess {
    # Ends one process we started, by its id.
    param($Process)
    if ($Process -and -not $Process.HasExited) {
        Stop-Process -Id $Process.Id -Force -ErrorAction Ignore
        $Process.WaitForExit(5000) | Out-Null
    }
}

function Import-KgdbOePackage {
    param([Parameter(Mandatory)] [string] $PackageDir)
    $manifest = Join-Path $PackageDir 'KgdbOe.psd1'
    if (-not (Test-Path $manifest)) { throw "bench: no KgdbOe package at $PackageDir (run build.ps1 Build)" }
    Import-Module $manifest -Force -Global
}

function Start-LossyProxy {
    <#
    .SYNOPSIS
    Starts tests/tools/LossyUdpProxy in front of a UDP port; returns the process and its port.
    #>
    param(
        [Parameter(Mandatory)] [int] $TargetPort,
        [Parameter(Mandatory)] [double] $LossPercent,
        [double] $DuplicatePercent = 0,
        [double] $ReorderPercent = 0,
        [string] $DelayMs = '0-0',
        [int] $Seed = 1
    )
    $project = Join-Path $PSScriptRoot '../tools/LossyUdpProxy'
    $dll = Get-ChildItem -Recurse -Filter LossyUdpProxy.dll (Join-Path $project 'bin') -ErrorAction Ignore |
        Where-Object { $_.Directory.Name -like 'net*' } | Sort-Object LastWriteTime | Select-Object -Last 1
    if (-not $dll) {
        & dotnet build $project -c Release --nologo -v q | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "bench: LossyUdpProxy failed to build" }
        $dll = Get-ChildItem -Recurse -Filter LossyUdpProxy.dll (Join-Path $project 'bin/Release') | Select-Object -First 1
    }
    $culture = [Globalization.CultureInfo]::InvariantCulture
    $info = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($dll.FullName, '--listen', '127.0.0.1:0', '--target', "127.0.0.1:$TargetPort",
            '--loss', $LossPercent.ToString($culture), '--dup', $DuplicatePercent.ToString($culture),
            '--reorder', $ReorderPercent.ToString($culture), '--delay-ms', $DelayMs, '--seed', $Seed)) {
        $info.ArgumentList.Add([string]$a)
    }
    # The proxy runs until its stdin closes: keep a pipe open and close it to stop it.
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($info)
    $first = $process.StandardOutput.ReadLineAsync()
    if (-not $first.Wait(30000) -or $first.Result -notmatch '^\s*(\d+)\s*$') {
        Stop-OwnProcess $process
        throw "bench: LossyUdpProxy printed no port: $($first.Result) $($process.StandardError.ReadToEnd())"
    }
    [pscustomobject]@{ Process = $process; Port = [int]$Matches[1] }
}

function Stop-LossyProxy {
    # Closing stdin makes the proxy print its statistics and exit.
    param([Parameter(Mandatory)] $Proxy)
    $Proxy.Process.StandardInput.Close()
    if (-not $Proxy.Process.WaitForExit(10000)) { Stop-OwnProcess $Proxy.Process; return '' }
    $Proxy.Process.StandardOutput.ReadToEnd().Trim()
}

function Get-Median {
    param([Parameter(Mandatory)] [double[]] $Values)
    $sorted = @($Values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { $sorted[[int][math]::Floor($n / 2)] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

function Get-MachineInfo {
    $cpu = (Select-String -Path /proc/cpuinfo -Pattern '^model name\s*:\s*(.*)$' | Select-Object -First 1).Matches[0].Groups[1].Value
    [ordered]@{
        HostCpus = [int](& nproc)
        CpuModel = $cpu.Trim()
        MemoryGiB = [math]::Round(((Get-Content /proc/meminfo -TotalCount 1) -replace '\D', '') / 1MB, 1)
        LoadAverage = ((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' '
        Qemu = ((& qemu-system-x86_64 --version) | Select-Object -First 1)
        Gdb = ((& gdb --version) | Select-Object -First 1)
    }
}

function Wait-QuietMachine {
    <#
    .SYNOPSIS
    Waits (up to a limit) until the 1-minute load average drops under a threshold: figures taken
    while kernels build are noise. Returns the load it ended with.
    #>
    param([double] $MaxLoad = 3.5, [int] $TimeoutSeconds = 0)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $load = [double]((Get-Content /proc/loadavg) -split ' ')[0]
        if ($load -le $MaxLoad -or [DateTime]::UtcNow -ge $deadline) { return $load }
        Write-Host "bench: load average $load > $MaxLoad, waiting"
        Start-Sleep -Seconds 15
    }
}

Export-ModuleMember -Function Start-BenchLab, Get-GuestSymbol, Start-GuestWorkload, Stop-GuestWorkload,
    Start-NetworkLoad, Stop-OwnProcess, Import-KgdbOePackage, Start-LossyProxy, Stop-LossyProxy, Get-Median,
    Get-MachineInfo, Wait-QuietMachine
