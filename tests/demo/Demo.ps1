<#
.SYNOPSIS
The KgdbOe tour: boot the lab, install kgdboe over SSH, debug the running kernel from PowerShell.
.DESCRIPTION
Run by `build.ps1 Demo`. Every step prints what it does and what came back, so a newcomer can
follow along and copy the commands into their own session.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PackageDir,
    [Parameter(Mandatory)] [string] $KernelModule,
    [string] $Kernel = '6.12',
    [switch] $KeepLab
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')
Import-Module (Join-Path $PackageDir 'KgdbOe.psd1')

function Show-Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }
function Show-Command([string] $Text) { Write-Host "PS> $Text" -ForegroundColor DarkGray }

Show-Step "Booting the lab: Linux $Kernel with KGDB under QEMU, 2 CPUs, e1000 (first run builds the kernel)"
$lab = Start-KgdbOeLab -Name 'demo' -Kernel $Kernel -Cpus 2 -Nic e1000
Write-Host "Guest $($lab.KernelRelease) is up: SSH on 127.0.0.1:$($lab.SshPort), debugger UDP 127.0.0.1:$($lab.DebugPort) -> guest :$($lab.GuestDebugPort)"
try {
    Show-Step 'Installing kgdboe over SSH (prebuilt for the lab kernel)'
    Show-Command "Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $($lab.SshPort) -KeyFilePath <lab key> -ModulePath kgdboe.ko -DebugPort $($lab.DebugPort)"
    $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -UserName root `
        -KeyFilePath $lab.KeyPath -KnownHostsPath $lab.KnownHostsPath -ModulePath $KernelModule `
        -DebugHost 127.0.0.1 -DebugPort $lab.DebugPort -SystemMap $lab.SystemMap -Confirm:$false
    $installation | Format-List | Out-Host

    Show-Step 'Connecting over UDP; the kernel stops, KASLR slide found from the target itself'
    Show-Command '$target = $installation | Connect-KernelTarget'
    $target = $installation | Connect-KernelTarget
    $target | Format-List | Out-Host

    Show-Step 'Reading linux_banner from the stopped kernel'
    Show-Command 'Read-KernelMemory linux_banner 160'
    $banner = Read-KernelMemory -Target $target -Address 'linux_banner' -Length 160
    $banner | Out-Host
    $text = [Text.Encoding]::ASCII.GetString($banner.Bytes).Split([char]0)[0].TrimEnd("`n")
    Write-Host "As text: $text"

    Show-Step 'A breakpoint on the getppid() system call, hit by a program in the guest'
    Show-Command 'Set-KernelBreakpoint __x64_sys_getppid; Resume-KernelTarget; (guest runs: workload 1); Wait-KernelTarget -Timeout 60'
    $breakpoint = Set-KernelBreakpoint -Target $target -Address '__x64_sys_getppid' -Confirm:$false
    $breakpoint | Out-Host
    Resume-KernelTarget -Target $target -Confirm:$false
    # The SSH command blocks while the kernel is stopped, so it runs in the background.
    $workload = Start-Process -PassThru -FilePath (Join-Path $PSScriptRoot '../lab/lab-ssh') -ArgumentList 'demo', 'workload', '1' `
        -RedirectStandardOutput ([IO.Path]::GetTempFileName())
    $stop = Wait-KernelTarget -Target $target -Timeout 60
    $stop | Format-List | Out-Host

    Show-Step 'Registers at the stop'
    Show-Command 'Get-KernelRegister'
    Get-KernelRegister -Target $target | Out-Host

    Show-Step 'The CPUs as the stub lists them'
    Show-Command 'Get-KernelThread | Where-Object IsCpu'
    Get-KernelThread -Target $target | Where-Object IsCpu | Out-Host

    Show-Step 'Exporting 1 MiB of kernel text to a file (watch the progress bar)'
    $breakpoint | Remove-KernelBreakpoint -Confirm:$false
    $file = Join-Path ([IO.Path]::GetTempPath()) 'kgdboe-demo-text.bin'
    Show-Command "Export-KernelMemory _stext 1MB $file"
    $started = [Diagnostics.Stopwatch]::StartNew()
    Export-KernelMemory -Target $target -Address '_stext' -Length 1MB -Path $file -Confirm:$false
    $seconds = $started.Elapsed.TotalSeconds
    Write-Host ("{0:N0} bytes in {1:N2} s ({2:N0} KiB/s)" -f (Get-Item $file).Length, $seconds, (1024 / $seconds))

    Show-Step 'Letting the kernel run, disconnecting, uninstalling'
    Resume-KernelTarget -Target $target -Confirm:$false
    $workload.WaitForExit(60000) | Out-Null
    Disconnect-KernelTarget -Target $target -Confirm:$false
    $installation | Uninstall-KgdboeModule -Confirm:$false
    Write-Host "Guest still answers: $(Invoke-LabSshCommand -Lab $lab -Command 'uname -r; cat /sys/devices/system/cpu/online' )"
    Write-Host "`nDone. Try it yourself: Import-Module $PackageDir/KgdbOe.psd1; Get-Help Connect-KernelTarget -Examples" -ForegroundColor Green
} finally {
    if (-not $KeepLab) { Stop-KgdbOeLab -Name 'demo' }
}
