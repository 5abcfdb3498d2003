// The page the portal test drives: one step of a Backstage Software Template rendered
// the way Backstage's scaffolder renders it, with react-jsonschema-form (@rjsf/core)
// and its ajv8 validator. Bundled by esbuild (tests/portal/test_portal.py).
import React from 'react';
import { createRoot } from 'react-dom/client';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';

// Backstage keeps a step's `ui:*` keys inline in the template's parameters and splits
// them into rjsf's uiSchema before rendering (scaffolder-react's extractSchemaFromStep):
// the same split, for properties and array items.
function extractSchema(node) {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    return { schema: node, uiSchema: {} };
  }
  const schema = {};
  const uiSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('ui:')) {
      uiSchema[key] = value;
    } else if (key === 'properties') {
      schema.properties = {};
      for (const [name, child] of Object.entries(value)) {
        const split = extractSchema(child);
        schema.properties[name] = split.schema;
        if (Object.keys(split.uiSchema).length) uiSchema[name] = split.uiSchema;
      }
    } else if (key === 'items') {
      const split = extractSchema(value);
      schema.items = split.schema;
      if (Object.keys(split.uiSchema).length) uiSchema.items = split.uiSchema;
    } else {
      schema[key] = value;
    }
  }
  return { schema, uiSchema };
}

function Step({ step }) {
  const { schema, uiSchema } = extractSchema(step);
  const [formData, setFormData] = React.useState({});
  return (
    <Form
      schema={schema}
      uiSchema={uiSchema}
      validator={validator}
      formData={formData}
      noHtml5Validate
      showErrorList={false}
      // As Backstage's scaffolder Stepper renders every step.
      experimental_defaultFormStateBehavior={{ allOf: 'populateDefaults' }}
      onChange={(e) => setFormData(e.formData)}
      onSubmit={(e) => {
        window.submitted = e.formData;
        document.body.dataset.state = 'submitted';
      }}
      onError={(errors) => {
        window.errors = errors.map((e) => ({ property: e.property, message: e.message }));
        document.body.dataset.state = 'invalid';
      }}
    />
  );
}

window.renderStep = (step) => {
  window.submitted = undefined;
  window.errors = undefined;
  document.body.dataset.state = 'editing';
  createRoot(document.getElementById('form')).render(<Step step={step} />);
};
