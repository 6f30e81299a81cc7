# KgdbOe: debug a Linux kernel over an ordinary NIC, scripted from PowerShell.
# This is the source manifest. The build writes the packaged copy with ModuleVersion taken from
# <Version> in Directory.Build.props (the only place the version lives).
@{
    RootModule           = 'KgdbOe.dll'
    ModuleVersion        = '0.0.0'
    GUID                 = '6f0c5b1e-3a47-4c8e-9d2b-7e41a8c5d903'
    Author               = 'KgdbOe contributors'
    CompanyName          = 'KgdbOe'
    Copyright            = '(c) KgdbOe contributors. GPL-2.0 for the kernel module, MIT for the PowerShell module.'
    Description          = 'Debug a Linux kernel over an ordinary network card: deploy kgdboe over SSH, then break in, read and write memory and registers, set breakpoints and watchpoints, all from PowerShell.'
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess     = @('KgdbOe.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-KernelTarget'
        'Disconnect-KernelTarget'
        'Get-KernelTarget'
        'Suspend-KernelTarget'
        'Resume-KernelTarget'
        'Step-KernelTarget'
        'Wait-KernelTarget'
        'Read-KernelMemory'
        'Write-KernelMemory'
        'Export-KernelMemory'
        'Export-KernelCore'
        'Get-KernelRegister'
        'Set-KernelRegister'
        'Set-KernelBreakpoint'
        'Get-KernelBreakpoint'
        'Remove-KernelBreakpoint'
        'Watch-KernelBreakpoint'
        'Get-KernelThread'
        'Get-KernelSymbol'
        'Invoke-KernelMonitorCommand'
        'Install-KgdboeModule'
        'Uninstall-KgdboeModule'
        'Get-KernelStack'
        'Get-KernelDisassembly'
        'Get-KernelType'
        'Get-KernelVariable'
        'Read-KernelObject'
        'Get-KernelListEntry'
        'Get-KernelTask'
        'Get-KernelLog'
        'Get-KernelModule'
        'Start-KernelGdbBridge'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Linux', 'Kernel', 'Debugger', 'KGDB', 'GDB', 'kgdboe', 'QEMU')
        }
    }
}
