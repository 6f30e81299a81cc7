using System;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Shows a <see cref="KernelObjectView"/> (a <see cref="KernelObject"/>) to PowerShell with the C members as its properties ($task.comm, $task.se.vruntime),
    /// decoded only when read, in declaration order, anonymous struct/union members lifted as in C. Three more properties say
    /// what the object is: KernelAddress (a pointer to it: hex, followable, and what Read-KernelObject binds by property
    /// name), KernelType ("struct task_struct") and, for a per-CPU variable, KernelCpu. A scalar, pointer or array object
    /// has one property, Value. Type names for views: "KgdbOe.KernelObject#struct task_struct", then "KgdbOe.KernelObject".
    /// </summary>
    public sealed class KernelObjectAdapter : PSPropertyAdapter
    {
        internal const string AddressProperty = "KernelAddress";
        internal const string TypeProperty = "KernelType";
        internal const string CpuProperty = "KernelCpu";
        internal const string ValueProperty = "Value";
        internal const string TypeNamePrefix = "KgdbOe.KernelObject";

        /// <summary>Registers the adapter in the current runspace (module import): PowerShell then asks it for every KernelObject's properties.</summary>
        internal static void Register()
        {
            var typeData = new TypeData(typeof(KernelObjectView)) { TypeAdapter = typeof(KernelObjectAdapter) };
            using (var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace))
            {
                ps.AddCommand("Update-TypeData").AddParameter("TypeData", typeData).AddParameter("Force").Invoke();
            }
        }

        public override Collection<string> GetTypeNameHierarchy(object baseObject)
        {
            var names = new Collection<string>();
            if (baseObject is KernelObjectView v) names.Add(TypeNamePrefix + "#" + v.Object.TypeName);
            names.Add(TypeNamePrefix);
            names.Add(typeof(KernelObjectView).FullName!);
            names.Add(typeof(object).FullName!);
            return names;
        }

        public override Collection<PSAdaptedProperty> GetProperties(object baseObject)
        {
            var properties = new Collection<PSAdaptedProperty>();
            var o = ((KernelObjectView)baseObject).Object;
            properties.Add(new PSAdaptedProperty(AddressProperty, AddressProperty));
            properties.Add(new PSAdaptedProperty(TypeProperty, TypeProperty));
            if (o.Cpu != null) properties.Add(new PSAdaptedProperty(CpuProperty, CpuProperty));
            if (!o.IsComposite)
            {
                properties.Add(new PSAdaptedProperty(ValueProperty, ValueProperty));
                return properties;
            }
            foreach (KernelField field in o.Fields) properties.Add(new PSAdaptedProperty(field.Name, field));
            return properties;
        }

        public override PSAdaptedProperty? GetProperty(object baseObject, string propertyName)
        {
            var o = ((KernelObjectView)baseObject).Object;
            if (o.IsComposite)
            {
                // C members first: a struct may well have a member called "value".
                foreach (KernelField field in o.Fields)
                    if (string.Equals(field.Name, propertyName, StringComparison.Ordinal)) return new PSAdaptedProperty(field.Name, field);
                foreach (KernelField field in o.Fields)
                    if (string.Equals(field.Name, propertyName, StringComparison.OrdinalIgnoreCase)) return new PSAdaptedProperty(field.Name, field);
            }
            else if (string.Equals(propertyName, ValueProperty, StringComparison.OrdinalIgnoreCase))
                return new PSAdaptedProperty(ValueProperty, ValueProperty);
            if (string.Equals(propertyName, AddressProperty, StringComparison.OrdinalIgnoreCase)) return new PSAdaptedProperty(AddressProperty, AddressProperty);
            if (string.Equals(propertyName, TypeProperty, StringComparison.OrdinalIgnoreCase)) return new PSAdaptedProperty(TypeProperty, TypeProperty);
            if (o.Cpu != null && string.Equals(propertyName, CpuProperty, StringComparison.OrdinalIgnoreCase)) return new PSAdaptedProperty(CpuProperty, CpuProperty);
            return null;
        }

        public override bool IsGettable(PSAdaptedProperty adaptedProperty) => true;

        public override bool IsSettable(PSAdaptedProperty adaptedProperty) => false;

        public override object? GetPropertyValue(PSAdaptedProperty adaptedProperty)
        {
            var o = ((KernelObjectView)adaptedProperty.BaseObject).Object;
            switch (adaptedProperty.Tag)
            {
                case KernelField field: return KernelViews.Wrap(o.GetValue(field));
                case AddressProperty: return new KernelPointerView(o.ToPointer());
                case TypeProperty: return o.TypeName;
                case CpuProperty: return o.Cpu;
                case ValueProperty: return KernelViews.Wrap(o.Value);
                default: return null;
            }
        }

        public override void SetPropertyValue(PSAdaptedProperty adaptedProperty, object value) =>
            throw new NotSupportedException("A kernel object is a snapshot of the kernel's memory: change the kernel with Write-KernelMemory.");

        public override string GetPropertyTypeName(PSAdaptedProperty adaptedProperty) => adaptedProperty.Tag switch
        {
            KernelField field => field.BitFieldSize == 0 ? field.Type.DisplayName : field.Type.DisplayName + ":" + field.BitFieldSize,
            AddressProperty => typeof(KernelPointerView).FullName!,
            TypeProperty => typeof(string).FullName!,
            CpuProperty => typeof(int).FullName!,
            _ => ((KernelObjectView)adaptedProperty.BaseObject).Object.TypeName,
        };
    }
}
