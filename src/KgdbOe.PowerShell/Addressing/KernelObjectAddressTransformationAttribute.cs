using System;
using System.Management.Automation;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// An address parameter that also takes typed kernel objects and pointers: a <see cref="KernelObject"/> stands for its
    /// own address (a list_head member for Get-KernelListEntry -Head), a <see cref="KernelPointer"/> for where it points.
    /// Everything else is taken as <see cref="KernelAddressTransformationAttribute"/> takes it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class KernelObjectAddressTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object? value = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (value)
            {
                case KernelObject o: return new KernelAddress(o.Address);
                case KernelPointer p: return new KernelAddress(p.Address);
                case KernelObjectView v: return new KernelAddress(v.Object.Address);
                case KernelPointerView pv: return new KernelAddress(pv.Address);
                default: return KernelAddressTransformationAttribute.ToAddress(inputData);
            }
        }
    }
}
