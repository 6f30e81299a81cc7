using System;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Lets an address parameter take numbers of any integer type (PowerShell reads
    /// 0xffffffff81000000 as a negative Int64), text, or any object with an Address property
    /// (symbols, breakpoints, memory blocks). Text is kept as text: it is checked when the
    /// cmdlet resolves it, so a bad address gets the KgdbOe.BadAddress error id, not a binding error.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class KernelAddressTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            if (inputData is object[] array)
            {
                var result = new KernelAddress[array.Length];
                for (int i = 0; i < array.Length; i++) result[i] = ToAddress(array[i]);
                return result;
            }
            return ToAddress(inputData);
        }

        internal static KernelAddress ToAddress(object? input)
        {
            object? value = input is PSObject pso ? pso.BaseObject : input;
            switch (value)
            {
                case KernelAddress a: return a;
                case null: throw new ArgumentTransformationMetadataException("An address cannot be null.");
                case string s: return new KernelAddress(s);
                case ulong u: return new KernelAddress(u);
                case long l: return new KernelAddress(unchecked((ulong)l));
                case uint ui: return new KernelAddress(ui);
                case int i: return new KernelAddress(unchecked((ulong)(long)i));
                case ushort us: return new KernelAddress(us);
                case short sh: return new KernelAddress(unchecked((ulong)(long)sh));
                case byte b: return new KernelAddress(b);
                case sbyte sb: return new KernelAddress(unchecked((ulong)(long)sb));
                case decimal d when d == decimal.Truncate(d) && d >= 0 && d <= ulong.MaxValue: return new KernelAddress((ulong)d);
                case double dbl when dbl == Math.Floor(dbl) && dbl >= 0 && dbl < 18446744073709551616.0: return new KernelAddress((ulong)dbl);
                case BigInteger bi when bi.Sign >= 0 && bi <= ulong.MaxValue: return new KernelAddress((ulong)bi);
            }

            // Symbols, breakpoints, memory blocks: anything that says where it is. The PSObject as
            // given, not a new wrapper: a [pscustomobject] (Select-Object's output) keeps its
            // properties only in the wrapper it came in.
            PSPropertyInfo? property = (input as PSObject ?? PSObject.AsPSObject(value)).Properties["Address"];
            if (property?.Value != null && !(property.Value is KernelAddress) && property.Value != value)
                return ToAddress(property.Value);

            // Unknown shapes become text, so the resolver reports them with KgdbOe.BadAddress.
            return new KernelAddress(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }
    }
}
